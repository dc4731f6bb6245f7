// Fragmented MP4 from H.264 access units, for Media Source Extensions where WebCodecs is
// missing: one init segment (ftyp + moov with the stream's avcC) and one fragment (moof + mdat)
// per frame. The frames arrive in Annex B; MP4 wants each NAL unit behind its length instead.
"use strict";

const NAL_SPS = 7, NAL_PPS = 8, NAL_AUD = 9;

// The NAL units of an Annex B access unit (start codes removed).
export function nalUnits(bytes) {
  const starts = [];
  for (let i = 0; i + 2 < bytes.length; i++) {
    if (bytes[i] === 0 && bytes[i + 1] === 0 && bytes[i + 2] === 1) { starts.push(i + 3); i += 2; }
  }
  return starts.map((s, k) => {
    let end = k + 1 < starts.length ? starts[k + 1] - 3 : bytes.length;
    while (k + 1 < starts.length && end > s && bytes[end - 1] === 0) end--;
    return bytes.subarray(s, end);
  });
}

function box(type, ...parts) {
  const size = 8 + parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, size);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  let at = 8;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

function bytes(...values) { return new Uint8Array(values); }
function u32(...values) {
  const out = new Uint8Array(4 * values.length);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint32(4 * i, v >>> 0));
  return out;
}
function u16(...values) {
  const out = new Uint8Array(2 * values.length);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint16(2 * i, v));
  return out;
}
const MATRIX = u32(0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000);
const full = (version, flags) => u32((version << 24) | flags);

function avcC(sps, pps) {
  return box("avcC", bytes(1, sps[1], sps[2], sps[3], 0xff, 0xe1), u16(sps.length), sps,
    bytes(1), u16(pps.length), pps);
}

// ftyp + moov for a stream of ``width`` x ``height`` whose parameter sets are ``sps``, ``pps``.
export function initSegment(sps, pps, width, height, timescale = 90000) {
  const avc1 = box("avc1", new Uint8Array(6), u16(1), new Uint8Array(16), u16(width, height),
    u32(0x480000, 0x480000, 0), u16(1), new Uint8Array(32), u16(0x18, 0xffff), avcC(sps, pps));
  const stbl = box("stbl", box("stsd", full(0, 0), u32(1), avc1), box("stts", full(0, 0), u32(0)),
    box("stsc", full(0, 0), u32(0)), box("stsz", full(0, 0), u32(0, 0)), box("stco", full(0, 0), u32(0)));
  const dinf = box("dinf", box("dref", full(0, 0), u32(1), box("url ", full(0, 1))));
  const minf = box("minf", box("vmhd", full(0, 1), new Uint8Array(8)), dinf, stbl);
  const mdia = box("mdia", box("mdhd", full(0, 0), u32(0, 0, timescale, 0), u16(0x55c4, 0)),
    box("hdlr", full(0, 0), u32(0), bytes(0x76, 0x69, 0x64, 0x65), u32(0, 0, 0), bytes(0)), minf);
  const tkhd = box("tkhd", full(0, 3), u32(0, 0, 1, 0, 0, 0, 0), u16(0, 0, 0, 0), MATRIX,
    u32(width << 16, height << 16));
  const mvhd = box("mvhd", full(0, 0), u32(0, 0, 1000, 0, 0x10000), u16(0x100, 0), u32(0, 0), MATRIX,
    new Uint8Array(24), u32(2));
  const mvex = box("mvex", box("trex", full(0, 0), u32(1, 1, 0, 0, 0)));
  const ftyp = box("ftyp", bytes(0x69, 0x73, 0x6f, 0x6d), u32(0x200),
    bytes(0x69, 0x73, 0x6f, 0x6d, 0x69, 0x73, 0x6f, 0x36, 0x61, 0x76, 0x63, 0x31, 0x6d, 0x70, 0x34, 0x31));
  const moov = box("moov", mvhd, box("trak", tkhd, mdia), mvex);
  const out = new Uint8Array(ftyp.length + moov.length);
  out.set(ftyp); out.set(moov, ftyp.length);
  return out;
}

// moof + mdat holding one frame: its NAL units (parameter sets left out: they are in avcC),
// decode time and duration in the timescale's ticks.
export function fragment(units, key, sequence, decodeTime, duration) {
  const kept = units.filter((u) => ![NAL_SPS, NAL_PPS, NAL_AUD].includes(u[0] & 0x1f));
  const size = kept.reduce((n, u) => n + 4 + u.length, 0);
  const mdat = new Uint8Array(8 + size);
  const view = new DataView(mdat.buffer);
  view.setUint32(0, mdat.length); mdat.set([0x6d, 0x64, 0x61, 0x74], 4);
  let at = 8;
  for (const u of kept) { view.setUint32(at, u.length); mdat.set(u, at + 4); at += 4 + u.length; }
  const flags = key ? 0x02000000 : 0x01010000;
  const high = Math.floor(decodeTime / 2 ** 32), low = decodeTime % 2 ** 32;
  const trunOf = (offset) => box("trun", full(0, 0x000701), u32(1, offset, duration, size, flags));
  const traf = (offset) => box("traf", box("tfhd", full(0, 0x020000), u32(1)),
    box("tfdt", full(1, 0), u32(high, low)), trunOf(offset));
  const moofOf = (offset) => box("moof", box("mfhd", full(0, 0), u32(sequence)), traf(offset));
  const moof = moofOf(moofOf(0).length + 8);
  const out = new Uint8Array(moof.length + mdat.length);
  out.set(moof); out.set(mdat, moof.length);
  return out;
}

// The SPS and PPS of a keyframe's NAL units, or null when either is missing.
export function parameterSets(units) {
  const sps = units.find((u) => (u[0] & 0x1f) === NAL_SPS);
  const pps = units.find((u) => (u[0] & 0x1f) === NAL_PPS);
  return sps && pps ? { sps, pps } : null;
}
