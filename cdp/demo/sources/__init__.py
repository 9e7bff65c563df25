"""The sources a life writes into, one module each; `common` holds what several share.

Every function takes the `Life` and the random stream of the strand it runs in, and
hands rows to `life.out` (cdp.demo.life.live drives them).
"""
