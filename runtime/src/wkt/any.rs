//! Packing a message into an [`Any`] and getting it out again.

use super::Any;
use crate::{DecodeError, Message};

/// What [`Any::pack`] puts before a type's full name to make its type URL.
const TYPE_URL_PREFIX: &str = "type.googleapis.com/";

impl Any {
    /// `message`, encoded, under the type URL
    /// `type.googleapis.com/<full name of M>`.
    pub fn pack<M: Message>(message: &M) -> Any {
        Any {
            type_url: format!("{TYPE_URL_PREFIX}{}", M::NAME),
            value: message.encode_to_vec().into(),
            ..Any::default()
        }
    }

    /// Whether this holds an `M`: the last segment of the type URL is `M`'s
    /// full name, whatever comes before it.
    pub fn is<M: Message>(&self) -> bool {
        self.type_url
            .rsplit_once('/')
            .is_some_and(|(_, name)| name == M::NAME)
    }

    /// The `M` this holds, or `None` when it holds another type.
    ///
    /// # Errors
    /// A [`DecodeError`] when it holds an `M` whose encoding is invalid.
    pub fn unpack<M: Message>(&self) -> Result<Option<M>, DecodeError> {
        if !self.is::<M>() {
            return Ok(None);
        }
        M::decode_bytes(&self.value).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use crate::wkt::{Any, Duration, Timestamp};

    #[test]
    fn a_packed_message_unpacks_as_its_own_type_only() {
        let duration = Duration {
            seconds: 3,
            nanos: 5,
            ..Default::default()
        };
        let any = Any::pack(&duration);
        assert_eq!(any.type_url, "type.googleapis.com/google.protobuf.Duration");
        assert!(any.is::<Duration>());
        assert!(!any.is::<Timestamp>());
        assert_eq!(any.unpack::<Duration>(), Ok(Some(duration)));
        assert_eq!(any.unpack::<Timestamp>(), Ok(None));
    }

    #[test]
    fn only_the_last_segment_of_the_type_url_names_the_type() {
        let mut any = Any::pack(&Duration::default());
        any.type_url = "example.com/types/google.protobuf.Duration".into();
        assert!(any.is::<Duration>());
        any.type_url = "google.protobuf.Duration".into();
        assert!(!any.is::<Duration>(), "a type URL has at least one slash");
        any.type_url = "type.googleapis.com/google.protobuf.DurationX".into();
        assert!(!any.is::<Duration>());
    }

    #[test]
    fn a_bad_encoding_of_the_right_type_is_an_error() {
        let mut any = Any::pack(&Duration::default());
        any.value = vec![0x08].into();
        assert!(any.unpack::<Duration>().is_err());
    }
}
