"""The Arrow fast path for clean chunks of raw lines: ``pyarrow.json`` and Arrow compute instead of per-item Python.

:mod:`.reader` decompresses, cuts, pre-checks and parses the raw files in background threads;
:mod:`.rows` turns a parsed chunk into candidate rows (or hands it line by line to the record-by-record
path when anything in it is not clean); :mod:`.plan` holds a chunk's rows until the chunk validated and
then writes them through the extractor's :class:`~.plan.CandidateSink` interface; :mod:`.arrow` has the
checks and column helpers they use.
"""
