"""The record-by-record extraction: raw lines → candidate rows of the transformed tables, quarantine, counts.

:mod:`.extractor` holds :class:`~.extractor.Extractor` (one per partition: lines in, quarantine and accounting,
and the interface the Arrow fast path writes its rows through); its row rules are split by kind of data into
:mod:`.music` (playlists, items, tracks, albums, artists) and :mod:`.listening` (plays, top lists, saved
tracks); :mod:`.pages` reads what a request and a page say (playlist ID, offset, time range);
:mod:`.builders` collects the rows into Arrow record batches.
"""
