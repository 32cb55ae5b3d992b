"""The commands a person runs from the Makefile: ``make demo`` (:mod:`.demo`) and ``make import-history``
(:mod:`.import_history`), printing what they did (:mod:`.console`)."""
