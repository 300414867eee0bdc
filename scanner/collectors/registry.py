"""The registry collectors, by record family; this module names them all (and the one hive type).

- :mod:`registry_system`: product, version, build, SP, architecture, host name, install date, system root,
  time zone (:mod:`registry_tz`);
- :mod:`registry_updates`: update records (Hotfix, Updates, Uninstall, CBS packages);
- :mod:`registry_software`: installed programs;
- :mod:`registry_pending`: PendingFileRenameOperations;
- :mod:`registry_servicing`: reboot/incomplete-install markers, SP source path, IIS setup time.

Each family reads through :mod:`regsafe` and fails alone, as a gap; :mod:`registry_facts` opens the hives
once and runs them all for the pipeline.
"""

from __future__ import annotations

from scanner.collectors.registry_pending import pending_renames
from scanner.collectors.registry_servicing import iis_setup_time, servicing_markers, with_note
from scanner.collectors.registry_software import software_installs
from scanner.collectors.registry_system import current_control_set, system_facts
from scanner.collectors.registry_updates import update_records
from scanner.collectors.regsafe import Hive

__all__ = [
    "Hive",
    "current_control_set",
    "iis_setup_time",
    "pending_renames",
    "servicing_markers",
    "software_installs",
    "system_facts",
    "update_records",
    "with_note",
]
