//! Frame writers: each appends one frame (or a field block's frames) to a
//! caller's send buffer.

use super::*;

/// Appends a SETTINGS frame with these parameters.
pub fn write_settings(out: &mut Vec<u8>, params: &[(u16, u32)]) {
    FrameHeader {
        len: (params.len() * 6) as u32,
        kind: kind::SETTINGS,
        flags: 0,
        stream: 0,
    }
    .write(out);
    for (id, v) in params {
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&v.to_be_bytes());
    }
}

/// Appends a SETTINGS ACK.
pub fn write_settings_ack(out: &mut Vec<u8>) {
    FrameHeader {
        len: 0,
        kind: kind::SETTINGS,
        flags: flag::ACK,
        stream: 0,
    }
    .write(out);
}

/// Appends one DATA frame. `data` must fit the peer's max frame size (the
/// caller splits by flow control and frame size anyway).
pub fn write_data(out: &mut Vec<u8>, stream: StreamId, data: &[u8], end_stream: bool) {
    FrameHeader {
        len: data.len() as u32,
        kind: kind::DATA,
        flags: if end_stream { flag::END_STREAM } else { 0 },
        stream,
    }
    .write(out);
    out.extend_from_slice(data);
}

/// Appends a field block as one HEADERS frame and as many CONTINUATION
/// frames as `max_frame_size` (the peer's) requires.
pub fn write_headers(
    out: &mut Vec<u8>,
    stream: StreamId,
    block: &[u8],
    end_stream: bool,
    max_frame_size: u32,
) {
    write_field_block(
        out,
        kind::HEADERS,
        stream,
        block,
        end_stream,
        max_frame_size,
    );
}

/// Appends a field block with its priority fields and padding, as one
/// HEADERS frame (tests and the peer side of scripted exchanges use it).
/// The block plus `pad` + 6 must fit one frame.
pub fn write_headers_padded(
    out: &mut Vec<u8>,
    stream: StreamId,
    block: &[u8],
    flags: u8,
    priority: Option<Priority>,
    pad: u8,
) {
    let mut flags = flags | flag::PADDED;
    let mut len = 1 + block.len() + pad as usize;
    if priority.is_some() {
        flags |= flag::PRIORITY;
        len += 5;
    }
    FrameHeader {
        len: len as u32,
        kind: kind::HEADERS,
        flags,
        stream,
    }
    .write(out);
    out.push(pad);
    if let Some(p) = priority {
        p.write(out);
    }
    out.extend_from_slice(block);
    out.resize(out.len() + pad as usize, 0);
}

fn write_field_block(
    out: &mut Vec<u8>,
    first: u8,
    stream: StreamId,
    block: &[u8],
    end_stream: bool,
    max_frame_size: u32,
) {
    let max = (max_frame_size.clamp(MIN_MAX_FRAME_SIZE, MAX_MAX_FRAME_SIZE)) as usize;
    let mut chunks = block.chunks(max).peekable();
    let mut kind = first;
    let mut flags = if end_stream { flag::END_STREAM } else { 0 };
    loop {
        let chunk = chunks.next().unwrap_or(&[]);
        let last = chunks.peek().is_none();
        if last {
            flags |= flag::END_HEADERS;
        }
        FrameHeader {
            len: chunk.len() as u32,
            kind,
            flags,
            stream,
        }
        .write(out);
        out.extend_from_slice(chunk);
        if last {
            return;
        }
        kind = kind::CONTINUATION;
        flags = 0;
    }
}

/// Appends a PRIORITY frame.
pub fn write_priority(out: &mut Vec<u8>, stream: StreamId, priority: Priority) {
    FrameHeader {
        len: 5,
        kind: kind::PRIORITY,
        flags: 0,
        stream,
    }
    .write(out);
    priority.write(out);
}

/// Appends an RST_STREAM frame.
pub fn write_rst_stream(out: &mut Vec<u8>, stream: StreamId, code: ErrorCode) {
    FrameHeader {
        len: 4,
        kind: kind::RST_STREAM,
        flags: 0,
        stream,
    }
    .write(out);
    out.extend_from_slice(&code.0.to_be_bytes());
}

/// Appends a PING frame (an answer has `ack` and the same data).
pub fn write_ping(out: &mut Vec<u8>, ack: bool, data: [u8; 8]) {
    FrameHeader {
        len: 8,
        kind: kind::PING,
        flags: if ack { flag::ACK } else { 0 },
        stream: 0,
    }
    .write(out);
    out.extend_from_slice(&data);
}

/// Appends a GOAWAY frame. `debug` is opaque diagnostic text; keep it short.
pub fn write_goaway(out: &mut Vec<u8>, last_stream: StreamId, code: ErrorCode, debug: &[u8]) {
    let debug = &debug[..debug.len().min(MIN_MAX_FRAME_SIZE as usize - 8)];
    FrameHeader {
        len: 8 + debug.len() as u32,
        kind: kind::GOAWAY,
        flags: 0,
        stream: 0,
    }
    .write(out);
    out.extend_from_slice(&(last_stream & STREAM_MASK).to_be_bytes());
    out.extend_from_slice(&code.0.to_be_bytes());
    out.extend_from_slice(debug);
}

/// Appends a WINDOW_UPDATE frame (stream 0: the connection's window).
/// `increment` must be 1..=2^31-1.
pub fn write_window_update(out: &mut Vec<u8>, stream: StreamId, increment: u32) {
    debug_assert!((1..=MAX_WINDOW).contains(&increment));
    FrameHeader {
        len: 4,
        kind: kind::WINDOW_UPDATE,
        flags: 0,
        stream,
    }
    .write(out);
    out.extend_from_slice(&(increment & STREAM_MASK).to_be_bytes());
}

/// Appends a PUSH_PROMISE frame (slotgate never pushes; the tests and
/// scripted peers need to send one to see it refused).
pub fn write_push_promise(
    out: &mut Vec<u8>,
    stream: StreamId,
    promised: StreamId,
    block: &[u8],
    end_headers: bool,
) {
    FrameHeader {
        len: 4 + block.len() as u32,
        kind: kind::PUSH_PROMISE,
        flags: if end_headers { flag::END_HEADERS } else { 0 },
        stream,
    }
    .write(out);
    out.extend_from_slice(&(promised & STREAM_MASK).to_be_bytes());
    out.extend_from_slice(block);
}

/// Appends a CONTINUATION frame (tests and scripted peers; real field
/// blocks go through [`write_headers`]).
pub fn write_continuation(out: &mut Vec<u8>, stream: StreamId, block: &[u8], end_headers: bool) {
    FrameHeader {
        len: block.len() as u32,
        kind: kind::CONTINUATION,
        flags: if end_headers { flag::END_HEADERS } else { 0 },
        stream,
    }
    .write(out);
    out.extend_from_slice(block);
}
