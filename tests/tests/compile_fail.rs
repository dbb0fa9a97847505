//! Code that must not compile: an Unsafe service implementation that leaves
//! a method out; uses of what a .proto file deprecates, where deprecation
//! warnings are errors.

#[test]
fn the_unsafe_variant_requires_every_method_and_deprecation_warns() {
    trybuild::TestCases::new().compile_fail("compile_fail/*.rs");
}
