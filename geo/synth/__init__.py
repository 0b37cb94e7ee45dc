"""Synthetic households: the seeded 231k sample (:mod:`geo.synth.sample`), its places, and the
13-million national data set for scale benchmarks (:mod:`geo.synth.national`)."""
