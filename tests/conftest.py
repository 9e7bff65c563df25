"""Suite-wide test settings."""

from hypothesis import settings

# No per-example deadline: on a loaded 2-core CI machine a first example (a compile, a
# phone metadata load) can take far longer than the next ones; timing is not what these test.
settings.register_profile("cdp", deadline=None, print_blob=True)
settings.load_profile("cdp")
