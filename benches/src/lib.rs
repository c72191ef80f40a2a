//! boxoffice benchmarks: see `benches/`.
