"""Write–audit–publish on the lake: where a run stages a table's day, how the audited version is published,
and where consumers find the published version.

**Published versions are immutable.** A table's day is published as one object in a folder named after
its content, and a small manifest in the day's folder says which version is current:

    transformed/<table>/dt=YYYY-MM-DD/_published.json                      {"version", "file", "bytes", "previous", …}
    transformed/<table>/dt=YYYY-MM-DD/v-<sha256 prefix>/part-00000.parquet  the version it names

(``analytics/…`` and ``insights/…`` — the outputs of Python assets stored by the lake IO manager — alike;
``quarantine/…/part-00000.jsonl.gz`` too, where ``"file": null`` publishes "nothing quarantined"). A published
object is never rewritten, so a reader that planned its query on a version reads that version to the end.
Re-publishing unchanged data finds the same version and changes nothing.

**A day of the transformed tables is one version.** The transform publishes a day's tables and quarantine
files together, and a reader that joins them (a track and its album) must not see one table of the new
version beside another of the old. So those zones (:data:`DAY_ZONES`) have a **day manifest**, written in
one atomic step (a rename locally, one PUT on S3) after every version object is in place:

    transformed/_days/dt=YYYY-MM-DD/_published.json    {"day_version", "previous", "tables": {"<zone>/<table>": {…}}}

Writing it *is* the publication: a writer killed before it leaves the previous day version, whole; after
it, the new one, whole. The tables' own manifests are then rewritten to match (each carrying the
``day_version`` it belongs to), for tools that read a single table. Every reader of the project resolves
a day through :class:`~.manifests.Manifests`, which follows the day manifest when there is one (the tables' manifests
only for days published before day manifests existed): the DuckDB views and Glue partitions (switched by the
catalog step), the lake IO manager and the audit's previous day.

**Readers survive a damaged lake.** A manifest that is not valid JSON (an empty file, a cut-off upload)
raises :class:`~.manifests.CorruptManifestError`, naming its path, for that day only: readers of many days skip it and
report it (:class:`~.manifests.Manifests` collects them), and publishing the day again replaces it. A folder in a table's
folder that is not ``dt=YYYY-MM-DD`` (``dt=2026-99-99``, ``dt=latest``, ``backup``) is never read, and
reported the same way.

**Staged** (read by the audit only; other tools must not read it): a run writes the new version of a day
under its own folder, with the same relative paths as the day's folders,

    _staging/dt=YYYY-MM-DD/<run id>/<zone>/<table>/dt=YYYY-MM-DD/part-00000.parquet

A run that publishes many partitions of its tables at once (the listening history's months) stages them all
in one folder, ``_staging/runs/<run id>/<zone>/<table>/month=YYYY-MM/…``. Months are published one manifest
each (no day manifest: they are not days), and a table published whole, without partitions (the history's
quarantine), has its manifest in the table's folder.

A run whose audit fails leaves its staged folder in place with a ``_HELD_BACK.json`` note saying why and
the published version untouched. :func:`~.staging.clean_staging` removes held-back folders after the retention and
folders of runs that died before publishing. Superseded versions are removed by
:func:`~.superseded.remove_superseded` once every catalog points at the newer one: the version just replaced stays
(for queries planned before the switch) until the day is published again.

The modules, one job each: :mod:`.layout` (the zones and where a table's partition, manifest and versions
live), :mod:`.manifests` (the manifests and their reader :class:`~.manifests.Manifests`), :mod:`.staging` (a
run's staging folder, and sweeping what runs left there), :mod:`.publish` (the switch to a staged version)
and :mod:`.superseded` (removing versions no catalog points at any more).
"""
