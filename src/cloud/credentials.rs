//! AWS credentials and region as the SDKs find them: the environment first
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), then the shared profile
//! (`AWS_PROFILE` or `default`, in `~/.aws/credentials` and `~/.aws/config`, or the files named
//! by `AWS_SHARED_CREDENTIALS_FILE` and `AWS_CONFIG_FILE`).

use std::path::PathBuf;

use anyhow::Context;

/// Long-term or temporary keys, and where they were found (for messages; never the secret).
#[derive(Clone)]
pub struct Keys {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    pub source: String,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").field("access_key_id", &self.access_key_id).field("source", &self.source).finish()
    }
}

/// Where to look: a variable's value by name (the process environment, or a test's).
pub struct Lookup<'a> {
    pub var: &'a dyn Fn(&str) -> Option<String>,
    /// The profile the target names, over `AWS_PROFILE`.
    pub profile: Option<&'a str>,
}

impl Lookup<'_> {
    fn get(&self, name: &str) -> Option<String> {
        (self.var)(name).filter(|v| !v.is_empty())
    }

    fn profile(&self) -> String {
        self.profile.map(str::to_string).or_else(|| self.get("AWS_PROFILE")).unwrap_or_else(|| "default".into())
    }

    fn file(&self, variable: &str, name: &str) -> Option<PathBuf> {
        self.get(variable)
            .map(PathBuf::from)
            .or_else(|| self.get("HOME").map(|h| PathBuf::from(h).join(".aws").join(name)))
    }

    /// `key` of the profile in the shared files: `[name]` in credentials, `[profile name]` (or
    /// `[default]`) in config.
    fn profile_value(&self, key: &str) -> anyhow::Result<Option<String>> {
        let profile = self.profile();
        let config_section = if profile == "default" { profile.clone() } else { format!("profile {profile}") };
        for (variable, name, section) in
            [("AWS_SHARED_CREDENTIALS_FILE", "credentials", &profile), ("AWS_CONFIG_FILE", "config", &config_section)]
        {
            let Some(path) = self.file(variable, name).filter(|p| p.exists()) else { continue };
            let ini = ini::Ini::load_from_file(&path).with_context(|| format!("cannot read {}", path.display()))?;
            if let Some(value) = ini.section(Some(section.as_str())).and_then(|s| s.get(key)) {
                return Ok(Some(value.trim().to_string()));
            }
        }
        Ok(None)
    }

    /// The keys: the environment's when it has both, else the profile's.
    ///
    /// # Errors
    /// When neither has them, or a shared file cannot be read.
    pub fn keys(&self) -> anyhow::Result<Keys> {
        if self.profile.is_none() {
            if let (Some(id), Some(secret)) = (self.get("AWS_ACCESS_KEY_ID"), self.get("AWS_SECRET_ACCESS_KEY")) {
                let token = self.get("AWS_SESSION_TOKEN");
                return Ok(Keys {
                    access_key_id: id,
                    secret_access_key: secret,
                    session_token: token,
                    source: "environment".into(),
                });
            }
        }
        let profile = self.profile();
        match (self.profile_value("aws_access_key_id")?, self.profile_value("aws_secret_access_key")?) {
            (Some(id), Some(secret)) => Ok(Keys {
                access_key_id: id,
                secret_access_key: secret,
                session_token: self.profile_value("aws_session_token")?,
                source: format!("profile {profile:?}"),
            }),
            _ => anyhow::bail!(
                "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give the profile {profile:?} \
                 aws_access_key_id and aws_secret_access_key in ~/.aws/credentials"
            ),
        }
    }

    /// The region: `AWS_REGION`, `AWS_DEFAULT_REGION`, then the profile's `region`.
    ///
    /// # Errors
    /// When a shared file cannot be read.
    pub fn region(&self) -> anyhow::Result<Option<String>> {
        if let Some(region) = self.get("AWS_REGION").or_else(|| self.get("AWS_DEFAULT_REGION")) {
            return Ok(Some(region));
        }
        self.profile_value("region")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn the_environment_comes_first_then_the_named_profile() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("credentials"),
            "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s1\n\n[bench]\naws_access_key_id = AKIDBENCH\naws_secret_access_key = s2\naws_session_token = t2\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("config"), "[profile bench]\nregion = eu-west-1\n").unwrap();
        let home = dir.path().to_str().unwrap().to_string();
        let (creds, config) = (format!("{home}/credentials"), format!("{home}/config"));
        let files = [("AWS_SHARED_CREDENTIALS_FILE", creds.as_str()), ("AWS_CONFIG_FILE", config.as_str())];
        let with_env = [files[0], files[1], ("AWS_ACCESS_KEY_ID", "AKIDENV"), ("AWS_SECRET_ACCESS_KEY", "s0")];
        let var = lookup(&with_env);
        let keys = Lookup { var: &var, profile: None }.keys().unwrap();
        assert_eq!((keys.access_key_id.as_str(), keys.source.as_str()), ("AKIDENV", "environment"));
        let keys = Lookup { var: &var, profile: Some("bench") }.keys().unwrap();
        assert_eq!((keys.access_key_id.as_str(), keys.session_token.as_deref()), ("AKIDBENCH", Some("t2")));
        assert_eq!(Lookup { var: &var, profile: Some("bench") }.region().unwrap().as_deref(), Some("eu-west-1"));
        let var = lookup(&files);
        assert_eq!(Lookup { var: &var, profile: None }.keys().unwrap().access_key_id, "AKIDDEFAULT");
        let none = lookup(&[]);
        let err = Lookup { var: &none, profile: None }.keys().unwrap_err().to_string();
        assert!(err.starts_with("no AWS credentials"), "{err}");
        assert!(!format!("{keys:?}").contains("s2"), "the secret is never printed");
    }
}
