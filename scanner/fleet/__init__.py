"""``patchmortem fleet``: many servers at once, each scanned in its own worker process (issue 17).

One way through: ``sources`` turns the command line (images, differencing children, triage folders, a folder
of images, list files) into one :class:`~scanner.fleet.sources.FleetSource` per *server* — a split set, an
E01 set or a differencing chain is one server — with the identity ``--resume`` compares. ``task`` is the
function a worker runs on one source (the same ``scan`` a single run does, returned as plain JSON data);
``local`` runs it in a bounded set of local processes, ``cluster`` on an existing Dask distributed cluster
(we never schedule across machines ourselves). ``records`` turns each outcome into the fleet record contract
(``schemas/fleet-record.schema.json``) and keeps the ``--output`` folder; ``groups`` puts servers together by
shared typed condition; ``render`` writes text, CSV and the HTML page; ``command`` is the click command.
"""
