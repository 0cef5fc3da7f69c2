"""fcgigate's benchmark suite: ``python bench/run.py`` (``make bench``) measures fcgigate
side by side with its peers in interleaved rounds; ``--smoke`` checks in seconds that
every fcgigate scenario still runs. README.md in this directory explains both."""
