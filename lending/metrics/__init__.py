"""Portfolio metrics: nightly snapshots of the figures lenders judge risk by (PAR, delinquency, default rates)."""
