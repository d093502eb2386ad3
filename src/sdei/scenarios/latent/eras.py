"""The eras a latent issue can be looked for in: Linux releases (not the v4 RFC)."""

RELEASES = ("v4.16", "v5.7", "v5.8", "v6.4", "v6.6", "v6.12", "latest")
# sdei_register_ghes()/sdei_unregister_ghes(), and GHES sources notified by SDEI: v5.1 on.
WITH_GHES = tuple(e for e in RELEASES if e != "v4.16")
# Hotplug callbacks in the STARTING section (before d2c48b2387eb, v6.4) or ONLINE_DYN.
STARTING = ("v4.16", "v5.7", "v5.8")
ONLINE_DYN = ("v6.4", "v6.6", "v6.12", "latest")
