//! Code that must not compile: an Unsafe service implementation that leaves
//! a method out.

#[test]
fn the_unsafe_variant_requires_every_method() {
    trybuild::TestCases::new().compile_fail("compile_fail/*.rs");
}
