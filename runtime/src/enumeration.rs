//! The [`Enumeration`] trait that every generated enum implements.

use std::fmt;
use std::hash::Hash;

/// A protobuf enum.
///
/// Generated enums are newtypes over `i32` with one associated constant per
/// declared value, so they keep any number they are given: a value added to
/// the schema after this code was generated survives a decode and re-encode.
/// Match on the constants and keep a `_` arm for the values not known yet.
pub trait Enumeration:
    Copy + Eq + Hash + Default + fmt::Debug + From<i32> + Into<i32> + Send + Sync + 'static
{
    /// The enum's full protobuf name, such as `google.protobuf.NullValue`.
    const NAME: &'static str;

    /// The name of the value as declared in the .proto file, when it is declared.
    fn name(self) -> Option<&'static str>;

    /// The value declared with `name` in the .proto file.
    fn from_name(name: &str) -> Option<Self>;

    /// True when the .proto file declares this value.
    fn is_known(self) -> bool {
        self.name().is_some()
    }
}
