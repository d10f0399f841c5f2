//! The function backend: a local Lambda-style platform that runs unmodified Runtime API programs
//! as processes, one invocation per instance at a time, with Lambda's pool, limits and billing.

pub mod pool;
