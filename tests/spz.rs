//! SPZ: round trips, and splat-transform 3.10.2 and @adobe/spz as oracles (placeholder).
