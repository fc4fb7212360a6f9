"""The simulated Ethereum node: JSON-RPC at POST /ethereum over Curve, Uniswap v3, Chainlink
and Multicall3 contracts whose state follows the scenario (see scenarios/README, On-chain)."""
