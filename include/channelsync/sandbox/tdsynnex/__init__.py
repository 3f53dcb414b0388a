"""TD SYNNEX emulator: StreamOne Ion v3 (``/tdsynnex/ion``), the classic XML services
(``/tdsynnex/xml/SynnexXML/...``) and the daily flat-file FTP site (``/tdsynnex/ftp``)."""

from channelsync.sandbox.tdsynnex.emulator import TdSynnexEmulator

__all__ = ["TdSynnexEmulator"]
