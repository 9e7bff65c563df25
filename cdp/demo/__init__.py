"""The demo universe: a hidden population of persons written into every source.

Public API: `cdp.demo.universe.generate(out, persons, seed, force)` and
`cdp.demo.universe.advance(out)`; CLI: `cdp generate`.
"""
