//! Retries of calls that stream their requests: the requests kept to send
//! again ([`Replay`]), and the new attempts the receiving side makes
//! ([`Retrier`]) until the call commits.

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use h2::SendStream;

use super::Channel;
use super::receiving::{Aborted, Receiving};
use super::retry::Attempts;
use crate::Status;
use crate::call::{Bounds, BoxFuture, CallOptions};
use crate::frame::Compression;
use crate::transport::Link;

/// The request messages of a streaming call sent so far, kept to send again
/// on a new attempt until the call commits: when the response headers come,
/// or when they outgrow the buffer.
pub(crate) struct Replay {
    kept: Mutex<Kept>,
}

struct Kept {
    frames: Vec<Bytes>,
    size: usize,
    limit: usize,
    /// Whether the client half-closed.
    closed: bool,
    /// Whether the call can no longer be retried.
    committed: bool,
    /// The stream of a newer attempt, which the sending side takes up.
    newer: Option<(SendStream<Bytes>, Link)>,
}

impl Replay {
    /// A replay buffer of at most `limit` bytes.
    pub(crate) fn new(limit: usize) -> Arc<Self> {
        Arc::new(Replay {
            kept: Mutex::new(Kept {
                frames: Vec::new(),
                size: 0,
                limit,
                closed: false,
                committed: false,
                newer: None,
            }),
        })
    }

    /// Keeps `frame`, about to be sent, unless the call has committed (or
    /// commits now, the buffer full); gives the stream of a newer attempt,
    /// if there is one, for `frame` and those after it to go on.
    pub(crate) fn sending(&self, frame: &Bytes) -> Option<(SendStream<Bytes>, Link)> {
        let mut kept = crate::lock(&self.kept);
        if !kept.committed {
            if kept.size + frame.len() > kept.limit {
                kept.commit();
            } else {
                kept.size += frame.len();
                kept.frames.push(frame.clone());
            }
        }
        kept.newer.take()
    }

    /// The client half-closes; gives the stream of a newer attempt, if
    /// there is one, to close instead.
    pub(crate) fn closing(&self) -> Option<(SendStream<Bytes>, Link)> {
        let mut kept = crate::lock(&self.kept);
        kept.closed = true;
        kept.newer.take()
    }

    /// Whether the call can no longer be retried: an error sending on an
    /// attempt then fails the call.
    pub(crate) fn committed(&self) -> bool {
        crate::lock(&self.kept).committed
    }

    /// The call commits: nothing more is kept.
    pub(crate) fn commit(&self) {
        crate::lock(&self.kept).commit();
    }

    /// The client cancels the call: it commits, and a newer attempt's
    /// stream is reset.
    pub(crate) fn cancel(&self) {
        let mut kept = crate::lock(&self.kept);
        kept.commit();
        if let Some((mut stream, _)) = kept.newer.take() {
            stream.send_reset(h2::Reason::CANCEL);
        }
    }

    /// Sends what was kept on a new attempt's `stream`, then hands it to
    /// the sending side.
    ///
    /// # Errors
    /// When the call committed meanwhile (the buffer filled up), or the
    /// stream failed.
    fn resume(&self, mut stream: SendStream<Bytes>, link: Link) -> Result<(), Status> {
        let mut kept = crate::lock(&self.kept);
        if kept.committed {
            return Err(Status::unavailable(
                "the requests outgrew the retry buffer while the call was retried",
            ));
        }
        // h2 holds what the window does not take yet; the buffer's limit
        // bounds it.
        let last = kept.frames.len();
        for (i, frame) in kept.frames.iter().enumerate() {
            let end = kept.closed && i + 1 == last;
            stream
                .send_data(frame.clone(), end)
                .map_err(|err| link.status(&err))?;
        }
        if kept.closed && last == 0 {
            stream
                .send_data(Bytes::new(), true)
                .map_err(|err| link.status(&err))?;
        }
        kept.newer = Some((stream, link));
        Ok(())
    }
}

impl Kept {
    fn commit(&mut self) {
        self.committed = true;
        self.frames = Vec::new();
        self.size = 0;
    }
}

/// The receiving side's part in retrying a streaming call: when an attempt
/// fails before the response headers, a new one, until the policy says no
/// more or the call commits.
pub(crate) struct Retrier {
    restart: Restart,
    attempts: Attempts,
    replay: Arc<Replay>,
    /// Shared by every attempt's receiving side with the sending side.
    aborted: Aborted,
    /// The next attempt, being made.
    next: Option<BoxFuture<'static, Result<Receiving, Status>>>,
}

/// What a new attempt at a call is started with.
#[derive(Clone)]
pub(crate) struct Restart {
    pub(crate) channel: Channel,
    pub(crate) path: &'static str,
    pub(crate) options: CallOptions,
    pub(crate) bounds: Bounds,
    pub(crate) compression: Option<Compression>,
}

impl Retrier {
    /// The retries of a call whose first attempt has been made: its
    /// `attempts` (the first counted), its `replay`, and where its sending
    /// side says how it `aborted` the call.
    pub(crate) fn new(
        restart: Restart,
        attempts: Attempts,
        replay: Arc<Replay>,
        aborted: Aborted,
    ) -> Box<Self> {
        Box::new(Retrier {
            restart,
            attempts,
            replay,
            aborted,
            next: None,
        })
    }

    /// Drives `receiving` until the response headers come, making new
    /// attempts while the policy allows: ready with `Ok` when they came
    /// (the call has committed) or when the call failed in a way not
    /// retried, whose status `receiving` then reports.
    pub(crate) fn poll_committed(
        &mut self,
        receiving: &mut Receiving,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        loop {
            if let Some(next) = &mut self.next {
                let attempt = ready!(next.as_mut().poll(cx));
                self.next = None;
                match attempt {
                    Ok(attempt) => *receiving = attempt,
                    Err(status) => {
                        self.replay.commit();
                        receiving.fail(status);
                        return Poll::Ready(());
                    }
                }
            }
            let Err(status) = ready!(receiving.poll_headers(cx)) else {
                self.replay.commit();
                self.restart.channel.committed();
                return Poll::Ready(());
            };
            let throttle = self.restart.channel.throttle();
            let wait = match self.replay.committed() {
                true => None,
                false => self
                    .attempts
                    .retry_after(&status, receiving.pushback(), throttle),
            };
            let Some(wait) = wait else {
                self.replay.commit();
                return Poll::Ready(());
            };
            self.next = Some(Box::pin(attempt(
                self.restart.clone(),
                self.attempts.start(),
                self.replay.clone(),
                self.aborted.clone(),
                wait,
            )));
        }
    }
}

/// A new attempt at a streaming call, after `previous` ones and `wait`: its
/// stream opened with what was sent so far replayed on it, and its
/// receiving side.
async fn attempt(
    restart: Restart,
    previous: u32,
    replay: Arc<Replay>,
    aborted: Aborted,
    wait: std::time::Duration,
) -> Result<Receiving, Status> {
    let Restart {
        channel,
        path,
        options,
        bounds,
        compression,
    } = restart;
    bounds.sleep(wait).await?;
    let (stream, mut receiving) = bounds
        .bound(channel.start_streamed(path, &bounds, &options, compression, previous))
        .await?;
    replay.resume(stream, receiving.link())?;
    receiving.share_aborted(aborted);
    Ok(receiving)
}
