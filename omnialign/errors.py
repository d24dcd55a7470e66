"""User-facing errors: each names the file, sample id and field where that is known."""


class OmnialignError(Exception):
    """Base class for errors reported to users without a traceback."""


class ConfigError(OmnialignError):
    pass


class DataError(OmnialignError):
    """Bad input data. Message names file, sample id and field."""

    def __init__(self, message: str, *, file: str | None = None, sample_id: str | None = None, field: str | None = None):
        where = []
        if file is not None:
            where.append(f"file {file}")
        if sample_id is not None:
            where.append(f"sample {sample_id!r}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.file, self.sample_id, self.field = file, sample_id, field


class MediaError(DataError):
    pass
