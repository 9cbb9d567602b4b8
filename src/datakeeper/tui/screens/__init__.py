"""One module per menu entry; ``base.FeatureScreen`` runs features in worker threads."""
