"""authority-form (CONNECT) is for proxies: we are not one."""

status = 400
