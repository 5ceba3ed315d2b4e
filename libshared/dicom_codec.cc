// dicom_codec.cc — compressed pixel data of a DICOM file, decoded in a
// child process under a time limit (guard.c): DCMTK's codecs (JPEG,
// JPEG-LS, RLE) and OpenJPEG (JPEG 2000, dicom_j2k.c).  Third-party
// decoders have loops that corrupt data can make endless (DCMTK 3.6.7's
// JPEG marker walk, CharLS 1.x's Golomb parameter loop) and may crash; the
// guard turns both into an error naming the file.  The JPEG marker walk
// that is known to spin is also refused up front, without a child.
#include "dicom_codec.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

extern "C" {
#include "guard.h"
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

// DCMTK 3.6.7's JPEG decoder first walks the markers of a frame's first
// fragment to find the sample precision
// (DJCodecDecoder::scanJpegDataForBitDepth, dcmjpeg/libsrc/djcodecd.cc).
// Its switch has no step for TEM (FF 01): "case 0xff01: break;" leaves the
// offset where it is and the walk spins forever.  Every other case moves on
// (a fill byte FF FF by one byte, so FF FF 01 reaches the TEM too), stops at
// a SOF or stops on a marker it does not know.  jpeg_walk_spins repeats
// that walk step for step and says whether it would reach a TEM.
static int
jpeg_walk_spins(const uint8_t *d, size_t n)
{
	size_t off = 0;

	while (off + 4 < n) {
		unsigned m = (unsigned)d[off] << 8 | d[off + 1];
		size_t seg = (size_t)((unsigned)d[off + 2] << 8 | d[off + 3]) + 2;
		if (m == 0xff01)
			return 1;
		if (m == 0xffff)
			off += 1;               // fill byte
		else if (m == 0xffc4 || m == 0xffc8 || m == 0xffcc || (m >= 0xffda && m <= 0xfffe))
			off += seg;             // DHT, JPG, DAC, SOS..COM: a segment
		else if (m >= 0xffc0 && m <= 0xffcf)
			return 0;               // a SOF: the walk ends here
		else if ((m >= 0xffd0 && m <= 0xffd9) || (d[off] == 0xff && d[off + 1] > 2 && d[off + 1] <= 0xbf))
			off += 2;               // RSTn, SOI, EOI, RES
		else
			return 0;               // DCMTK stops: syntax error
	}
	return 0;
}

// Refuses JPEG fragments that would hang DCMTK's decoder (see above).  The
// walk starts at a frame's first fragment, which may be any item after the
// offset table (item 0): all of them are checked.
static int
check_jpeg_fragments(DcmDataset *ds, const DcmXfer &x, char *err, size_t errlen)
{
	DcmElement *pe = nullptr;
	DcmPixelSequence *seq = nullptr;
	const char *id = x.getXferID();

	if (strncmp(id, "1.2.840.10008.1.2.4.", 20) != 0 || atoi(id + 20) >= 80)
		return 0;       // not a JPEG process handled by dcmjpeg
	if (ds->findAndGetElement(DCM_PixelData, pe).bad() || pe == nullptr)
		return 0;
	if (OFstatic_cast(DcmPixelData *, pe)->getEncapsulatedRepresentation(x.getXfer(), nullptr, seq).bad() ||
	    seq == nullptr)
		return 0;
	for (unsigned long i = 1; i < seq->card(); i++) {
		DcmPixelItem *item = nullptr;
		Uint8 *d = nullptr;
		if (seq->getItem(item, i).good() && item && item->getUint8Array(d).good() && d &&
		    jpeg_walk_spins(d, item->getLength())) {
			snprintf(err, errlen, "corrupt %s data: a TEM marker before the frame header", x.getXferName());
			return -1;
		}
	}
	return 0;
}

// The fragments (items after the offset table) of the pixel sequence.
static int
fragments(DcmDataset *ds, const DcmXfer &x, std::vector<DcmPixelItem *> &frag,
    DcmPixelItem **bot, char *err, size_t errlen)
{
	DcmElement *pe = nullptr;
	DcmPixelSequence *seq = nullptr;

	if (ds->findAndGetElement(DCM_PixelData, pe).bad() || pe == nullptr ||
	    OFstatic_cast(DcmPixelData *, pe)->getEncapsulatedRepresentation(x.getXfer(), nullptr, seq).bad() ||
	    seq == nullptr || seq->card() < 2 || seq->getItem(*bot, 0).bad()) {
		snprintf(err, errlen, "%s: no encapsulated pixel data", x.getXferName());
		return -1;
	}
	for (unsigned long i = 1; i < seq->card(); i++) {
		DcmPixelItem *it = nullptr;
		if (seq->getItem(it, i).bad() || it == nullptr)
			return -1;
		frag.push_back(it);
	}
	return 0;
}

// Which fragments make frame k: [*firstP, *endP).  One frame takes all;
// one fragment a frame; else the Basic Offset Table says.
static int
frame_fragments(const std::vector<DcmPixelItem *> &frag, DcmPixelItem *bot, int frames, int k,
    size_t *firstP, size_t *endP)
{
	Uint8 *t = nullptr;

	if (frames == 1 || (size_t)frames == frag.size()) {
		*firstP = frames == 1 ? 0 : (size_t)k;
		*endP = frames == 1 ? frag.size() : (size_t)k + 1;
		return 0;
	}
	if (bot->getLength() != 4 * (Uint32)frames || bot->getUint8Array(t).bad() || t == nullptr)
		return -1;
	uint64_t lo = le32(t + 4 * k), hi = k + 1 < frames ? le32(t + 4 * k + 4) : UINT64_MAX, at = 0;
	*firstP = *endP = frag.size();
	for (size_t i = 0; i < frag.size(); i++) {
		if (at == lo)
			*firstP = i;
		if (at == hi)
			*endP = i;
		at += 8 + (uint64_t)frag[i]->getLength();
	}
	return *firstP < *endP ? 0 : -1;
}

// What the child sends back first for DCMTK's codecs: the attributes the
// decoder may have changed.  JPEG 2000 leaves them (pi[0] == 0).
struct decoded_attrs {
	char pi[64];
	int32_t planar, bits_allocated, bits_stored, high_bit;
};

struct job {
	DcmDataset *ds;
	const struct dicom_pixels *px;
	int frames;
	size_t total;
};

// Allocates the child's answer: the attributes, then n bytes.
static uint8_t *
answer(size_t n, uint8_t **outP, size_t *lenP)
{
	uint8_t *b = (uint8_t *)calloc(1, sizeof(struct decoded_attrs) + n);

	*outP = b;
	*lenP = sizeof(struct decoded_attrs) + n;
	return b;
}

// Child: each JPEG 2000 frame's fragments joined and decoded by OpenJPEG.
static int
j2k_job(void *arg, uint8_t **outP, size_t *lenP, char *err, size_t errlen)
{
	struct job *j = (struct job *)arg;
	DcmXfer x(j->ds->getOriginalXfer());
	std::vector<DcmPixelItem *> frag;
	std::vector<uint8_t> cs;
	DcmPixelItem *bot = nullptr;
	size_t fb = j->total / (size_t)j->frames;
	char why[200];

	if (fragments(j->ds, x, frag, &bot, err, errlen) < 0)
		return -1;
	uint8_t *b = answer(j->total, outP, lenP);
	if (b == nullptr) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	uint8_t *out = b + sizeof(struct decoded_attrs);
	for (int k = 0; k < j->frames; k++) {
		size_t a, e;
		if (frame_fragments(frag, bot, j->frames, k, &a, &e) < 0) {
			snprintf(err, errlen, "%s: %zu fragments for %d frames and no usable offset table",
			    x.getXferName(), frag.size(), j->frames);
			return -1;
		}
		cs.clear();
		for (size_t i = a; i < e; i++) {
			Uint8 *d = nullptr;
			if (frag[i]->getUint8Array(d).good() && d)
				cs.insert(cs.end(), d, d + frag[i]->getLength());
		}
		if (dicom_j2k_decode(cs.data(), cs.size(), j->px, out + (size_t)k * fb, why, sizeof why) < 0) {
			snprintf(err, errlen, "frame %d: %s", k + 1, why);
			return -1;
		}
	}
	return 0;
}

// Child: DCMTK's codec for the syntax; its pixels in host order.
static int
dcmtk_job(void *arg, uint8_t **outP, size_t *lenP, char *err, size_t errlen)
{
	struct job *j = (struct job *)arg;
	DcmXfer x(j->ds->getOriginalXfer());
	DcmElement *pe = nullptr;
	Uint8 *bytes = nullptr;
	Uint16 u;
	OFString pi;

	OFCondition c = j->ds->chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
	if (c.bad() || !j->ds->hasRepresentation(EXS_LittleEndianExplicit, nullptr)) {
		snprintf(err, errlen, "cannot decode %s (%s): %s", x.getXferName(), x.getXferID(),
		    c.bad() ? c.text() : "no decoded representation");
		return -1;
	}
	struct decoded_attrs at = {};
	j->ds->findAndGetOFString(DCM_PhotometricInterpretation, pi);
	snprintf(at.pi, sizeof at.pi, "%s", pi.c_str());
	at.planar = j->ds->findAndGetUint16(DCM_PlanarConfiguration, u).good() ? u : 0;
	at.bits_allocated = j->ds->findAndGetUint16(DCM_BitsAllocated, u).good() ? u : 0;
	at.bits_stored = j->ds->findAndGetUint16(DCM_BitsStored, u).good() ? u : 0;
	at.high_bit = j->ds->findAndGetUint16(DCM_HighBit, u).good() ? u : 0;
	c = j->ds->findAndGetElement(DCM_PixelData, pe);
	if (c.good() && pe && at.bits_allocated == 16) {
		Uint16 *w = nullptr;
		c = pe->getUint16Array(w);
		bytes = (Uint8 *)w;
	} else if (c.good() && pe) {
		c = pe->getUint8Array(bytes);
	}
	if (c.bad() || pe == nullptr || bytes == nullptr) {
		snprintf(err, errlen, "PixelData after decoding %s: %s", x.getXferName(), c.bad() ? c.text() : "no value");
		return -1;
	}
	uint8_t *b = answer(pe->getLength(), outP, lenP);
	if (b == nullptr) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(b, &at, sizeof at);
	memcpy(b + sizeof at, bytes, pe->getLength());
	return 0;
}

static int
run_job(void *arg, uint8_t **outP, size_t *lenP, char *err, size_t errlen)
{
	struct job *j = (struct job *)arg;

	try {
		return is_j2k(j->ds->getOriginalXfer()) ? j2k_job(arg, outP, lenP, err, errlen) :
		    dcmtk_job(arg, outP, lenP, err, errlen);
	} catch (...) {
		snprintf(err, errlen, "the decoder failed (out of memory or internal error)");
		return -1;
	}
}

static int isolate = 1;

extern "C" void
dicom_set_isolation(int on)
{
	isolate = on;
}

int
codec_decode(DcmDataset *ds, const struct dicom_pixels *px, int frames, size_t total,
    uint8_t **bufP, size_t *lenP, char *err, size_t errlen)
{
	DcmXfer x(ds->getOriginalXfer());
	struct job j = { ds, px, frames, total };
	struct decoded_attrs at;
	uint8_t *b = nullptr;
	size_t n = 0;
	char why[400];
	// generous: a few MB/s is far slower than any of these decoders
	double seconds = 30 + (double)total / (4 << 20);

	*bufP = nullptr;
	*lenP = 0;
	if (!is_j2k(x.getXfer()) && check_jpeg_fragments(ds, x, err, errlen) < 0)
		return -1;
	int rc = isolate ? guard_run(run_job, &j, seconds, sizeof at + 2 * total + 16, &b, &n, why, sizeof why) :
	    run_job(&j, &b, &n, why, sizeof why);
	if (rc < 0) {
		if (!isolate)
			free(b);
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	memcpy(&at, b, sizeof at);
	at.pi[sizeof at.pi - 1] = '\0';
	if (at.pi[0]) {
		ds->putAndInsertString(DCM_PhotometricInterpretation, at.pi);
		if (px->samples > 1)
			ds->putAndInsertUint16(DCM_PlanarConfiguration, (Uint16)at.planar);
		ds->putAndInsertUint16(DCM_BitsAllocated, (Uint16)at.bits_allocated);
		ds->putAndInsertUint16(DCM_BitsStored, (Uint16)at.bits_stored);
		ds->putAndInsertUint16(DCM_HighBit, (Uint16)at.high_bit);
	}
	memmove(b, b + sizeof at, n - sizeof at);
	*bufP = b;
	*lenP = n - sizeof at;
	return 0;
}
