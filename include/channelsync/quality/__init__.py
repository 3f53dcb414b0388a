"""Data-quality gates as code (docs/architecture.md §validate): suites of Great Expectations expectations with a
severity each. Great Expectations is imported lazily inside :func:`channelsync.quality.suite.validate`,
never at module level (DAG files import this package)."""
