//! Prints the instruction-set levels this CPU supports, best first, one
//! line, space-separated (`make test-simd` runs `cargo test` at each).

fn main() {
    let names: Vec<&str> = floss::simd::supported_levels()
        .into_iter()
        .map(|l| l.name())
        .collect();
    println!("{}", names.join(" "));
}
