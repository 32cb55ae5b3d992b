"""Write–audit–publish of a day: stage the transformed tables (:mod:`.wap`), audit them (:mod:`.audit`, the
record rules of :mod:`.quality`), show a preview (:mod:`.preview`), and publish only what passed."""
