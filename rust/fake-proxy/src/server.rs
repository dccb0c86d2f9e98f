//! The listener both middlemen share: one thread per connection, at most
//! [`MAX_CONNECTIONS`] at once, every socket registered so that stopping
//! shuts it down and wakes whatever is blocked on it.

use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Connections served at once; one more is closed unanswered.
pub const MAX_CONNECTIONS: usize = 64;
/// A socket that says nothing for this long is closed, so that no
/// connection outlives a test that forgot it.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a connection to a target may take (loopback: at once, or refused).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long stopping waits for threads before leaving stragglers detached.
const STOP_GRACE: Duration = Duration::from_secs(2);
/// Connection threads only copy bytes.
const STACK_BYTES: usize = 256 * 1024;

/// Serves one accepted connection.
pub(crate) type Handler = dyn Fn(TcpStream, &Connection) + Send + Sync;

#[derive(Default)]
struct Registry {
    stopping: bool,
    next_id: u64,
    /// Every open socket, by id, to shut down when stopping.
    open: HashMap<u64, TcpStream>,
    threads: Vec<JoinHandle<()>>,
}

fn lock(registry: &Mutex<Registry>) -> MutexGuard<'_, Registry> {
    registry.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One connection's sockets: more can be registered (the target's), and all
/// are forgotten when it ends.
pub(crate) struct Connection {
    registry: Arc<Mutex<Registry>>,
    ids: Mutex<Vec<u64>>,
}

impl Connection {
    /// Registers `stream` so that stopping shuts it down, and gives it the
    /// idle timeout. Fails if the server is stopping.
    pub(crate) fn register(&self, stream: &TcpStream) -> io::Result<()> {
        stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
        stream.set_write_timeout(Some(IDLE_TIMEOUT))?;
        let _ = stream.set_nodelay(true);
        let clone = stream.try_clone()?;
        let mut registry = lock(&self.registry);
        if registry.stopping {
            let _ = stream.shutdown(Shutdown::Both);
            return Err(io::Error::other("stopping"));
        }
        let id = registry.next_id;
        registry.next_id += 1;
        registry.open.insert(id, clone);
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(id);
        Ok(())
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let ids = std::mem::take(&mut *self.ids.lock().unwrap_or_else(PoisonError::into_inner));
        let mut registry = lock(&self.registry);
        for id in ids {
            if let Some(stream) = registry.open.remove(&id) {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
    }
}

/// A running listener; stopped on drop.
pub(crate) struct Server {
    addr: SocketAddr,
    registry: Arc<Mutex<Registry>>,
    acceptor: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds `addr`, which must be an IPv4 loopback address, and serves each
    /// connection with `handler` on its own thread.
    pub(crate) fn start(
        name: &'static str,
        addr: SocketAddr,
        handler: Arc<Handler>,
    ) -> io::Result<Server> {
        if !matches!(addr, SocketAddr::V4(v4) if v4.ip().is_loopback()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{name} listens on 127.0.0.1 only, not {addr}"),
            ));
        }
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let registry = Arc::new(Mutex::new(Registry::default()));
        let acceptor = {
            let registry = Arc::clone(&registry);
            thread::Builder::new()
                .name(format!("{name}-accept"))
                .spawn(move || accept_loop(name, listener, registry, handler))?
        };
        Ok(Server {
            addr,
            registry,
            acceptor: Some(acceptor),
        })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, shuts every socket down and joins the threads (within
    /// about [`STOP_GRACE`]). Calling it again does nothing.
    pub(crate) fn stop(&mut self) {
        {
            let mut registry = lock(&self.registry);
            if registry.stopping {
                return;
            }
            registry.stopping = true;
            for stream in registry.open.values() {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
        let deadline = Instant::now() + STOP_GRACE;
        if let Some(acceptor) = self.acceptor.take() {
            // The acceptor blocks in accept(): a connection wakes it to see `stopping`.
            while !acceptor.is_finished() && Instant::now() < deadline {
                let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(100));
                thread::sleep(Duration::from_millis(2));
            }
            join_by(acceptor, deadline);
        }
        let threads = std::mem::take(&mut lock(&self.registry).threads);
        for thread in threads {
            join_by(thread, deadline);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Joins `thread` if it finishes by `deadline`; otherwise leaves it detached.
fn join_by(thread: JoinHandle<()>, deadline: Instant) {
    while !thread.is_finished() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(1));
    }
    if thread.is_finished() {
        let _ = thread.join();
    }
}

fn accept_loop(
    name: &'static str,
    listener: TcpListener,
    registry: Arc<Mutex<Registry>>,
    handler: Arc<Handler>,
) {
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(stream) => stream,
            Err(_) if lock(&registry).stopping => return,
            Err(_) => {
                // Out of file descriptors or a connection reset before accept:
                // back off briefly rather than spin.
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let mut guard = lock(&registry);
        if guard.stopping {
            return;
        }
        // Finished threads are joined here, so a long-running binary keeps
        // no more handles than it has connections.
        let (done, running): (Vec<_>, Vec<_>) = std::mem::take(&mut guard.threads)
            .into_iter()
            .partition(|t| t.is_finished());
        guard.threads = running;
        for thread in done {
            let _ = thread.join();
        }
        if guard.threads.len() >= MAX_CONNECTIONS {
            drop(stream);
            continue;
        }
        drop(guard);
        let connection = Connection {
            registry: Arc::clone(&registry),
            ids: Mutex::new(Vec::new()),
        };
        if connection.register(&stream).is_err() {
            continue;
        }
        let handler = Arc::clone(&handler);
        let spawned = thread::Builder::new()
            .name(format!("{name}-conn"))
            .stack_size(STACK_BYTES)
            .spawn(move || {
                handler(stream, &connection);
                drop(connection);
            });
        if let Ok(thread) = spawned {
            lock(&registry).threads.push(thread);
        }
    }
}
