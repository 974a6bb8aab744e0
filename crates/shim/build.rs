//! berth-shim is linked as a fixed-position (non-PIE) executable. One shim runs per
//! container, and a position-independent Rust binary carries ~14k relative
//! relocations: applied at load, they dirty ~280 KiB of every shim's .data.rel.ro and
//! GOT privately. Resolved at link time instead, those pages stay clean and shared by
//! all shims (bench/containers.sh measures the memory per container).
fn main() {
    println!("cargo:rustc-link-arg-bin=berth-shim=-no-pie");
}
