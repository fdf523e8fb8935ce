// Finiteness of a value, from its bits: WGSL lets implementations assume there are no infinities
// or NaNs, so a comparison could be folded away.

fn is_finite_bits(bits: u32) -> bool {
  return (bits & 0x7f800000u) != 0x7f800000u;
}

fn is_finite(x: f32) -> bool {
  return is_finite_bits(bitcast<u32>(x));
}
