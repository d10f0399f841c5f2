//! Keeping instances apart, as Lambda's micro-VMs are.
//!
//! On Lambda every execution environment has its own Runtime API at `127.0.0.1:9001` and sees
//! nothing of the platform. Locally, every process of one user can read every other's
//! `/proc/<pid>/environ` (and so find each instance's Runtime API address) and connect to any
//! loopback port. coldbench closes both holes where the host allows it:
//!
//! - **a network namespace per function instance** (needs `CAP_SYS_ADMIN`, i.e. root): the
//!   instance has a loopback of its own, on which its Runtime API listens at `127.0.0.1:9001`
//!   exactly as on Lambda. It cannot reach another instance's Runtime API, the gateway, or any
//!   other port of the host; the listener itself is bound inside the namespace by a short-lived
//!   thread of coldbench, so coldbench needs no route into it.
//! - **coldbench's own environment is unreadable** by the processes it starts: coldbench marks
//!   itself not dumpable (its `/proc` files then belong to root and need `CAP_SYS_PTRACE`), and
//!   every child loses `CAP_SYS_PTRACE` from its bounding set, so even a root child cannot read
//!   them.

use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::OnceLock;

/// The port of the Runtime API inside an instance's own namespace, as on Lambda.
pub const RUNTIME_API_PORT: u16 = 9001;

/// `CAP_SYS_PTRACE` (linux/capability.h); the libc crate does not define it.
const CAP_SYS_PTRACE: libc::c_ulong = 19;

/// A network namespace of one instance, with its own loopback up; it lives while this handle
/// or a process inside it does.
#[derive(Debug)]
pub struct NetNamespace {
    fd: OwnedFd,
}

impl NetNamespace {
    /// Creates a namespace and binds a listener on `127.0.0.1:port` inside it.
    ///
    /// # Errors
    /// When namespaces cannot be created here (no `CAP_SYS_ADMIN`, not Linux) or the listener
    /// cannot be bound.
    pub fn with_listener(port: u16) -> io::Result<(Self, TcpListener)> {
        // A thread of its own: unshare changes only the calling thread's namespace, and this
        // thread ends right after, so no other work of coldbench ever runs inside it.
        std::thread::Builder::new()
            .name("coldbench-netns".into())
            .spawn(move || {
                // SAFETY: unshare only changes this thread's network namespace.
                if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                    return Err(io::Error::last_os_error());
                }
                loopback_up()?;
                let listener = TcpListener::bind(("127.0.0.1", port))?;
                listener.set_nonblocking(true)?;
                let fd = OwnedFd::from(std::fs::File::open("/proc/thread-self/ns/net")?);
                Ok((Self { fd }, listener))
            })?
            .join()
            .map_err(|_| io::Error::other("the namespace thread panicked"))?
    }

    /// What a child runs between fork and exec to enter the namespace: the descriptor only, so
    /// that it can be copied into the `pre_exec` closure. The namespace must outlive its use.
    pub(crate) fn entry(&self) -> Entry {
        Entry(self.fd.as_raw_fd())
    }
}

/// The descriptor of a [`NetNamespace`], to enter it after fork.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry(std::os::fd::RawFd);

impl Entry {
    /// Moves the calling thread (in a forked child: the process) into the namespace.
    ///
    /// # Errors
    /// When `setns` fails.
    pub(crate) fn enter(self) -> io::Result<()> {
        // SAFETY: setns is async-signal-safe and only changes the caller's namespace.
        if unsafe { libc::setns(self.0, libc::CLONE_NEWNET) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// Brings `lo` up in the calling thread's (new) network namespace.
fn loopback_up() -> io::Result<()> {
    // SAFETY: a plain datagram socket, closed below.
    let socket = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if socket < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel owns the descriptor we just got; OwnedFd closes it on every path.
    let socket = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(socket) };
    // SAFETY: ifreq is plain data; zeroed is a valid value, and the ioctls read and write only it.
    unsafe {
        let mut request: libc::ifreq = std::mem::zeroed();
        for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
            *slot = *byte as libc::c_char;
        }
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFFLAGS, &mut request) < 0 {
            return Err(io::Error::last_os_error());
        }
        request.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCSIFFLAGS, &request) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Whether this process can give instances namespaces of their own: `Err` says why not (once
/// checked, the answer is kept).
pub fn available() -> Result<(), String> {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    CHECKED
        .get_or_init(|| match NetNamespace::with_listener(0) {
            Ok(_) => Ok(()),
            Err(err) if err.raw_os_error() == Some(libc::EPERM) => {
                Err("creating a network namespace needs root (CAP_SYS_ADMIN)".to_string())
            }
            Err(err) => Err(format!("cannot create a network namespace: {err}")),
        })
        .clone()
}

unsafe extern "C" {
    /// The C library's environment (glibc and musl both define it).
    static mut environ: *mut *mut libc::c_char;
}

/// Hides coldbench's own environment from the processes it starts: the variables move to the
/// heap and the block `/proc/<pid>/environ` reads is zeroed (what `setproctitle` does to reuse
/// it), so the file reads as NULs even for root; and coldbench becomes not dumpable, so that its
/// other `/proc` files need `CAP_SYS_PTRACE`, which its children lose. `std::env` keeps working.
///
/// # Safety
/// Must run before any other thread exists: the environment is rewritten without a lock.
pub unsafe fn hide_own_environment() {
    // SAFETY: the caller guarantees no other thread reads or writes the environment. Every
    // pointer read is an entry of `environ` (NUL-terminated strings) up to its NULL end; the
    // zeroed range is the span of the original strings, and only once no entry points into it.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        let mut originals = Vec::new();
        let mut entry = environ;
        while !entry.is_null() && !(*entry).is_null() {
            originals.push((*entry, std::ffi::CStr::from_ptr(*entry).to_owned()));
            entry = entry.add(1);
        }
        let Some(start) = originals.iter().map(|(p, _)| *p as usize).min() else { return };
        let end = originals.iter().map(|(p, s)| *p as usize + s.as_bytes_with_nul().len()).max().unwrap_or(start);
        for (_, var) in &originals {
            let bytes = var.as_bytes();
            let Some(eq) = bytes.iter().position(|b| *b == b'=') else { continue };
            let (Ok(name), Ok(value)) =
                (std::ffi::CString::new(&bytes[..eq]), std::ffi::CString::new(&bytes[eq + 1..]))
            else {
                continue;
            };
            libc::setenv(name.as_ptr(), value.as_ptr(), 1);
        }
        // Zero only if every variable now lives elsewhere (setenv copied each one).
        let mut entry = environ;
        while !entry.is_null() && !(*entry).is_null() {
            if (start..end).contains(&(*entry as usize)) {
                return;
            }
            entry = entry.add(1);
        }
        std::ptr::write_bytes(start as *mut u8, 0, end - start);
    }
}

/// For a child between fork and exec: gives up `CAP_SYS_PTRACE` for good, so that even a root
/// child cannot read a process that is not dumpable (coldbench). Fails harmlessly (and is not
/// needed) without `CAP_SETPCAP`.
pub fn drop_ptrace() {
    // SAFETY: prctl is async-signal-safe; PR_CAPBSET_DROP only changes this process's bounding set.
    unsafe {
        libc::prctl(libc::PR_CAPBSET_DROP, CAP_SYS_PTRACE, 0, 0, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_a_namespace_only_its_own_loopback_is_reachable() {
        if let Err(why) = available() {
            eprintln!("skipped: {why}");
            return;
        }
        let host = TcpListener::bind("127.0.0.1:0").unwrap();
        let host_port = host.local_addr().unwrap().port();
        let (namespace, inside) = NetNamespace::with_listener(0).unwrap();
        let inside_port = inside.local_addr().unwrap().port();
        let (own, hosts) = std::thread::spawn(move || {
            namespace.entry().enter().unwrap();
            let own = std::net::TcpStream::connect(("127.0.0.1", inside_port)).is_ok();
            let hosts = std::net::TcpStream::connect(("127.0.0.1", host_port)).map_err(|e| e.kind());
            (own, hosts.map(|_| ()))
        })
        .join()
        .unwrap();
        assert!(own, "the namespace's own listener answers");
        assert_eq!(hosts, Err(io::ErrorKind::ConnectionRefused), "the host's loopback is out of reach");
    }
}
