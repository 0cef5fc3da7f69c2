"""Content-Length and Transfer-Encoding together (CL.TE smuggling): RFC 9112 6.3
lets a server reject it, and behind a proxy it must (the two ends could disagree
on where the body ends). Nothing after it is parsed."""

status = 400
