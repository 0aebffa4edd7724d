//! The sending side of [`Conn`]: what the application sends (heads, data,
//! resets, within the client's windows) and the receive windows it gives
//! back ([`Conn::release`]).

use super::*;

impl Conn {
    /// The application passed on `n` body bytes of `stream`: their window
    /// space goes back to the client once half a window is released.
    /// Bytes of a stream that has ended were given back when it ended.
    pub fn release(&mut self, stream: StreamId, n: usize) {
        let half = self.limits.stream_window / 2;
        let Some(s) = self.streams.get_mut(&stream) else {
            return;
        };
        let n = (n.min(u32::MAX as usize) as u32).min(s.buffered);
        s.buffered -= n;
        s.recv_released += n;
        {
            // No update once the client has finished sending.
            if s.recv_released > 0
                && s.recv_released >= half
                && s.state != StreamState::HalfClosedRemote
            {
                frame::write_window_update(&mut self.out, stream, s.recv_released);
                s.recv_window += s.recv_released as i64;
                s.recv_released = 0;
            }
        }
        self.release_conn(n);
    }

    pub(super) fn release_conn(&mut self, n: u32) {
        self.conn_recv_released += n;
        if self.conn_recv_released > 0
            && self.conn_recv_released >= self.limits.connection_window / 2
        {
            frame::write_window_update(&mut self.out, 0, self.conn_recv_released);
            self.conn_recv_window += self.conn_recv_released as i64;
            self.conn_recv_released = 0;
        }
    }

    /// Sends a response head (or trailers, with `end_stream`).
    pub fn send_headers<'a>(
        &mut self,
        stream: StreamId,
        fields: impl IntoIterator<Item = Field<'a>>,
        end_stream: bool,
    ) {
        let Some(s) = self.streams.get_mut(&stream) else {
            return;
        };
        s.answered = true;
        let mut block = Vec::new();
        self.encoder.encode(fields, &mut block);
        frame::write_headers(
            &mut self.out,
            stream,
            &block,
            end_stream,
            self.peer.max_frame_size,
        );
        if end_stream {
            self.local_end(stream);
        }
    }

    /// What this side may send on `stream` now (both windows).
    pub fn send_window(&self, stream: StreamId) -> usize {
        let s = self.streams.get(&stream).map_or(0, |s| s.send_window);
        s.min(self.conn_send_window).max(0) as usize
    }

    /// Sends as much of `data` as the windows allow, in frames of the
    /// client's SETTINGS_MAX_FRAME_SIZE; returns how much was sent.
    /// `end_stream` applies once all of `data` is sent.
    pub fn send_data(&mut self, stream: StreamId, data: &[u8], end_stream: bool) -> usize {
        if !self.streams.contains_key(&stream) {
            return 0;
        }
        let n = data.len().min(self.send_window(stream));
        let max = self.peer.max_frame_size as usize;
        let done = n == data.len();
        let mut sent = 0;
        loop {
            let chunk = (n - sent).min(max);
            let last = sent + chunk == n;
            if chunk == 0 && !(last && done && end_stream) {
                break;
            }
            frame::write_data(
                &mut self.out,
                stream,
                &data[sent..sent + chunk],
                last && done && end_stream,
            );
            sent += chunk;
            if last {
                break;
            }
        }
        if let Some(s) = self.streams.get_mut(&stream) {
            s.send_window -= n as i64;
        }
        self.conn_send_window -= n as i64;
        if done && end_stream {
            self.local_end(stream);
        }
        n
    }

    pub(super) fn local_end(&mut self, stream: StreamId) {
        if let Some(s) = self.streams.get_mut(&stream) {
            match s.state {
                StreamState::Open => s.state = StreamState::HalfClosedLocal,
                StreamState::HalfClosedRemote => self.close(stream),
                StreamState::HalfClosedLocal => {}
            }
        }
    }

    /// Resets `stream` from this side (e.g. its member failed).
    pub fn reset(&mut self, stream: StreamId, code: ErrorCode) {
        if self.drop_stream(stream).is_some() {
            frame::write_rst_stream(&mut self.out, stream, code);
        }
    }
}
