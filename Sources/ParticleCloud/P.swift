enum PlaceholderParticleCloud {}
