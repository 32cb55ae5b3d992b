"""How every part of the platform reaches AWS (:mod:`.clients`: region, endpoint, credentials)."""
