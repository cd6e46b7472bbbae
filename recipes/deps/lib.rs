//! Never built: this package only pins C library sources (see Cargo.toml).
