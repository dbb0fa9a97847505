//! The command-line flags of the interop binaries, spelled as the interop
//! test descriptions spell them: `--name=value` or `--name value`.

use std::collections::BTreeMap;

/// Parsed flags.
#[derive(Debug)]
pub struct Flags(BTreeMap<String, String>);

impl Flags {
    /// Parses `args`, accepting only the flags in `known`.
    ///
    /// # Errors
    /// A message naming the bad flag and the known ones.
    pub fn parse(args: impl IntoIterator<Item = String>, known: &[&str]) -> Result<Flags, String> {
        let mut flags = BTreeMap::new();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let Some(flag) = arg.strip_prefix("--") else {
                return Err(format!(
                    "unexpected argument {arg:?}; flags: --{}",
                    known.join(", --")
                ));
            };
            let (name, value) = match flag.split_once('=') {
                Some((name, value)) => (name.to_owned(), value.to_owned()),
                None => {
                    let value = args
                        .next()
                        .ok_or_else(|| format!("flag --{flag} needs a value"))?;
                    (flag.to_owned(), value)
                }
            };
            if !known.contains(&name.as_str()) {
                return Err(format!(
                    "unknown flag --{name}; flags: --{}",
                    known.join(", --")
                ));
            }
            flags.insert(name, value);
        }
        let flags = Flags(flags);
        flags.enabled("use_tls")?;
        Ok(flags)
    }

    /// Whether the boolean flag `name` is on: `true` or `false`, off when
    /// missing.
    ///
    /// # Errors
    /// When it is neither.
    pub fn enabled(&self, name: &str) -> Result<bool, String> {
        match self.0.get(name).map(String::as_str) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(format!("--{name}={other}: expected true or false")),
        }
    }

    /// The value of `name`, or `default`.
    pub fn get<'a>(&'a self, name: &str, default: &'a str) -> &'a str {
        self.0.get(name).map_or(default, String::as_str)
    }

    /// The value of `name` as a port number.
    ///
    /// # Errors
    /// When it is missing or not a port.
    pub fn port(&self, name: &str) -> Result<u16, String> {
        let value = self
            .0
            .get(name)
            .ok_or_else(|| format!("--{name} is required"))?;
        value
            .parse()
            .map_err(|_| format!("--{name}={value} is not a port number"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn both_spellings_parse() {
        let flags = Flags::parse(
            args(&["--port=8080", "--test_case", "empty_unary"]),
            &["port", "test_case"],
        )
        .unwrap();
        assert_eq!(flags.port("port"), Ok(8080));
        assert_eq!(flags.get("test_case", ""), "empty_unary");
        assert_eq!(flags.get("missing", "default"), "default");
    }

    #[test]
    fn bad_flags_are_named() {
        let err = Flags::parse(args(&["--colour=red"]), &["port"]).unwrap_err();
        assert_eq!(err, "unknown flag --colour; flags: --port");
        assert!(Flags::parse(args(&["--use_tls=yes"]), &["use_tls"]).is_err());
        let tls = Flags::parse(args(&["--use_tls=true"]), &["use_tls"]).unwrap();
        assert_eq!(tls.enabled("use_tls"), Ok(true));
        assert!(Flags::parse(args(&["--port"]), &["port"]).is_err());
        let flags = Flags::parse(args(&["--port=x"]), &["port"]).unwrap();
        assert!(flags.port("port").is_err());
    }
}
