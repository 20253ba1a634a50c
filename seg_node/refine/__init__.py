"""Refinements after the network: dense CRF, temporal smoothing, edge-aware upsampling, cleanup, class groups."""
