"""The one list of errors a read of evidence bytes may raise (issue 15).

A dead server's disk is damaged by definition: a corrupt E01 chunk fails to inflate (``zlib.error``), a broken
MFT record or index raises dissect.ntfs's ``BrokenMftError``/``BrokenIndexError``, a damaged run list or
compressed stream dissect.util's ``CorruptDataError``, an EWF table dissect.evidence's ``EWFError``, and
cstruct/``struct`` read past the end of short data (``EOFError``/``struct.error``). Every collector catches
:data:`READ_ERRORS` around each read of one file or record, so one damaged artefact becomes a gap and the
rest of the scan still counts; opening the evidence (:mod:`scanner.evidence.source`) turns the same errors
into a documented :class:`~scanner.errors.ScannerError`. A programming error (``TypeError``, ``NameError``)
is not in the list: it is a bug and must stay visible (exit 70).
"""

from __future__ import annotations

import struct
import zlib

from dissect.cstruct import Error as CstructError
from dissect.evidence.exception import Error as EvidenceError
from dissect.hypervisor.exceptions import Error as HypervisorError
from dissect.ntfs.exceptions import Error as NtfsError
from dissect.target.exceptions import Error as TargetError
from dissect.util.exceptions import Error as DissectUtilError
from dissect.volume.exceptions import Error as VolumeError

READ_ERRORS = (
    OSError,  # I/O, missing segments; dissect's FileNotFoundError/IsADirectoryError are OSErrors too
    EOFError,  # cstruct reading past the end of a short buffer
    struct.error,
    zlib.error,  # a corrupt compressed chunk (E01, qcow2 compressed clusters)
    ValueError,  # includes UnicodeDecodeError on names that do not decode
    LookupError,  # KeyError/IndexError on a missing attribute, run or table slot
    OverflowError,  # a length or time field past what Python can represent
    NotImplementedError,  # dissect on a feature it does not read (a compression or attribute type)
    AttributeError,  # dissect on a key-less index entry or a record missing an attribute
    NtfsError,
    DissectUtilError,
    EvidenceError,
    HypervisorError,
    VolumeError,
    TargetError,
    CstructError,
)
"""Errors a read of evidence bytes may raise; documented in README ("Damaged evidence")."""
