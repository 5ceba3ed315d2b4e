// dicom.cc — the one C++ file: DCMTK parses the file, decodes compressed
// transfer syntaxes and reads the attributes; dicom_render.c does the pixel
// arithmetic.  Every DCMTK condition is checked and its text reported; no
// exception leaves an extern "C" function.
#include "dicom.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcdict.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcistrmb.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmdata/dccodec.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

extern "C" {
#include "sha256.h"
}
#include "dicom_codec.h"
#include "guard.h"

struct dicom_file {
	DcmFileFormat ff;
	struct dicom_pixels px;
	const uint8_t *pixels = nullptr;        // into ff's PixelData
	size_t pixel_len = 0, frame_bytes = 0;
	int frames = 1;
	std::vector<uint16_t> mlut, vlut;
	uint8_t *owned = nullptr;               // decoded pixels (malloc'd, dicom_codec.cc)
	~dicom_file() { free(owned); }
};

// Where the pixels of a dataset come from, for the photometric
// interpretations accepted: stored natively; decoded by a DCMTK codec (which
// turns YBR into RGB and says so); decoded by OpenJPEG (which undoes the
// RCT/ICT component transform).
enum pixel_source { SRC_NATIVE, SRC_DCMTK, SRC_J2K };



static unsigned
rd16(const uint8_t *p, int big)
{
	return big ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0];
}

static uint32_t
rd32(const uint8_t *p, int big)
{
	return big ? (uint32_t)rd16(p, 1) << 16 | rd16(p + 2, 1) : (uint32_t)rd16(p + 2, 0) << 16 | rd16(p, 0);
}

static size_t limit_bytes = (size_t)2 << 30;

// Holds guard_lib_enter for a scope: no decoder child is forked while this
// thread is in DCMTK (guard.h).
struct in_dcmtk {
	in_dcmtk() { guard_lib_enter(); }
	~in_dcmtk() { guard_lib_leave(); }
	in_dcmtk(const in_dcmtk &) = delete;
	in_dcmtk &operator=(const in_dcmtk &) = delete;
};

static void
init_once()
{
	static std::once_flag once;
	std::call_once(once, [] {
		OFLog::configure(OFLogger::OFF_LOG_LEVEL);
		// an uncompressed dataset whose encoding differs from what its
		// meta header says is read as it is encoded (pydicom does too)
		dcmAutoDetectDatasetXfer.set(OFTrue);
		DJDecoderRegistration::registerCodecs();
		DJLSDecoderRegistration::registerCodecs();
		DcmRLEDecoderRegistration::registerCodecs();
		// DCMTK makes its data dictionary at first use: here, once, and
		// not in every decoder child (a child would read the dictionary
		// file again each time)
		(void)dcmDataDict.isDictionaryLoaded();
	});
}

extern "C" int
dicom_sniff(const uint8_t *buf, size_t len)
{
	return (len >= 132 && memcmp(buf + 128, "DICM", 4) == 0) ||
	    (len >= 4 && memcmp(buf, "DICM", 4) == 0);
}

extern "C" void
dicom_set_limit(size_t bytes)
{
	limit_bytes = bytes;
}

// Copies a string attribute (all values, '\'-separated) into out as
// printable ASCII, or "" when absent.
static void
get_str(DcmItem *it, const DcmTagKey &tag, char *out, size_t cap)
{
	OFString s;
	size_t n = 0;

	out[0] = '\0';
	if (it->findAndGetOFStringArray(tag, s).bad())
		return;
	for (size_t i = 0; i < s.length() && n + 1 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		out[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

static long
get_int(DcmItem *it, const DcmTagKey &tag, long dflt)
{
	Uint16 u;
	Sint32 s;

	if (it->findAndGetUint16(tag, u).good())
		return u;
	if (it->findAndGetSint32(tag, s).good())
		return s;
	return dflt;
}

// Reads the LUT of item 0 of sequence seq into out/l; 0 when absent or
// read, -1 with a reason when malformed.
static int
get_lut(DcmItem *ds, const DcmTagKey &seq, int is_signed, std::vector<uint16_t> &out,
    struct dicom_lut *l, char *err, size_t errlen)
{
	DcmItem *item = nullptr;
	Uint16 d[3];
	const Uint16 *data = nullptr;
	unsigned long count = 0;

	memset(l, 0, sizeof *l);
	if (ds->findAndGetSequenceItem(seq, item, 0).bad() || item == nullptr)
		return 0;
	for (int i = 0; i < 3; i++) {
		Sint16 s;
		if (item->findAndGetUint16(DCM_LUTDescriptor, d[i], i).bad()) {
			if (item->findAndGetSint16(DCM_LUTDescriptor, s, i).bad()) {
				snprintf(err, errlen, "%s: LUT Descriptor missing or malformed", DcmTag(seq).getTagName());
				return -1;
			}
			d[i] = (Uint16)s;
		}
	}
	OFCondition c = item->findAndGetUint16Array(DCM_LUTData, data, &count);
	if (c.bad() || data == nullptr) {
		snprintf(err, errlen, "%s: LUT Data: %s", DcmTag(seq).getTagName(), c.text());
		return -1;
	}
	l->n = d[0] == 0 ? 65536 : d[0];
	l->first = is_signed ? (int)(Sint16)d[1] : (int)d[1];
	l->bits = d[2];
	if (count < (unsigned long)l->n) {
		snprintf(err, errlen, "%s: %lu LUT entries, descriptor says %d", DcmTag(seq).getTagName(), count, l->n);
		return -1;
	}
	out.assign(data, data + l->n);
	l->data = out.data();
	return 0;
}

// Fills f->px from the dataset's Image Pixel, Modality LUT and VOI LUT
// attributes.  Returns 0 or -1 with a reason.
static int
read_pixel_attrs(struct dicom_file *f, DcmDataset *ds, enum pixel_source src, char *err, size_t errlen)
{
	struct dicom_pixels *px = &f->px;
	char pi[DICOM_STR], fn[DICOM_STR];
	Float64 v;

	memset(px, 0, sizeof *px);
	px->rows = (int)get_int(ds, DCM_Rows, 0);
	px->cols = (int)get_int(ds, DCM_Columns, 0);
	px->samples = (int)get_int(ds, DCM_SamplesPerPixel, 1);
	px->planar = (int)get_int(ds, DCM_PlanarConfiguration, 0);
	px->bits_allocated = (int)get_int(ds, DCM_BitsAllocated, 0);
	px->bits_stored = (int)get_int(ds, DCM_BitsStored, px->bits_allocated);
	px->high_bit = (int)get_int(ds, DCM_HighBit, px->bits_stored - 1);
	px->pixel_rep = get_int(ds, DCM_PixelRepresentation, 0) == 1;
	get_str(ds, DCM_PhotometricInterpretation, pi, sizeof pi);
	if (strcmp(pi, "MONOCHROME1") == 0) {
		px->monochrome1 = 1;
	} else if (strcmp(pi, "YBR_FULL") == 0) {
		px->ybr_full = 1;
	} else if (strcmp(pi, "YBR_FULL_422") == 0 && src != SRC_J2K) {
		px->ybr_full = 1;       // DCMTK's JPEG codec upsamples (and converts)
		px->ybr422 = src == SRC_NATIVE;
	} else if ((strcmp(pi, "YBR_RCT") == 0 || strcmp(pi, "YBR_ICT") == 0) && src == SRC_J2K) {
		;                       // OpenJPEG gives RGB
	} else if (strcmp(pi, "MONOCHROME2") != 0 && strcmp(pi, "RGB") != 0) {
		snprintf(err, errlen, "PhotometricInterpretation '%s' is not supported%s", pi,
		    strncmp(pi, "YBR_", 4) == 0 ? " with this transfer syntax" : "");
		return -1;
	}
	if ((px->samples == 3) != (pi[0] != 'M')) {
		snprintf(err, errlen, "%s with %d samples per pixel", pi, px->samples);
		return -1;
	}
	px->slope = ds->findAndGetFloat64(DCM_RescaleSlope, v).good() ? v : 1;
	px->intercept = ds->findAndGetFloat64(DCM_RescaleIntercept, v).good() ? v : 0;
	if (get_lut(ds, DCM_ModalityLUTSequence, px->pixel_rep, f->mlut, &px->modality_lut, err, errlen) < 0)
		return -1;
	if (ds->findAndGetFloat64(DCM_WindowCenter, px->center, 0).good() &&
	    ds->findAndGetFloat64(DCM_WindowWidth, px->width, 0).good())
		px->has_window = 1;
	get_str(ds, DCM_VOILUTFunction, fn, sizeof fn);
	px->func = strcmp(fn, "SIGMOID") == 0 ? DICOM_FUNC_SIGMOID :
	    strcmp(fn, "LINEAR_EXACT") == 0 ? DICOM_FUNC_LINEAR_EXACT : DICOM_FUNC_LINEAR;
	return get_lut(ds, DCM_VOILUTSequence, px->modality_lut.n == 0 && px->pixel_rep &&
	    px->slope == 1 && px->intercept == 0, f->vlut, &px->voi_lut, err, errlen);
}

// Compressed pixel data, decoded in a guarded child process
// (dicom_codec.cc) into f->owned.
static int
decode_encapsulated(struct dicom_file *f, DcmDataset *ds, const DcmXfer &x, size_t total,
    char *err, size_t errlen)
{
	E_TransferSyntax xfer = x.getXfer();
	size_t len;
	char why[256];

	if (!is_j2k(xfer) && !DcmCodecList::canChangeCoding(xfer, EXS_LittleEndianExplicit)) {
		snprintf(err, errlen, "%s (%s) is not supported", x.getXferName(), x.getXferID());
		return -1;
	}
	if (codec_decode(ds, &f->px, f->frames, total, &f->owned, &len, err, errlen) < 0)
		return -1;
	if (!is_j2k(xfer)) {    // DCMTK may have turned YBR into RGB and changed the layout
		if (read_pixel_attrs(f, ds, SRC_DCMTK, why, sizeof why) < 0 ||
		    dicom_pixels_check(&f->px, why, sizeof why) < 0) {
			snprintf(err, errlen, "after decoding %s: %s", x.getXferName(), why);
			return -1;
		}
		f->frame_bytes = dicom_frame_bytes(&f->px);
		total = f->frame_bytes * (size_t)f->frames;
	}
	if (len < total) {
		snprintf(err, errlen, "%s: %zu bytes decoded, %d frame(s) need %zu", x.getXferName(), len,
		    f->frames, total);
		return -1;
	}
	f->pixels = f->owned;
	f->pixel_len = len;
	return 0;
}

// Size checks, then decompression when the syntax is encapsulated.
static int
decode_pixels(struct dicom_file *f, DcmDataset *ds, char *err, size_t errlen)
{
	E_TransferSyntax xfer = ds->getOriginalXfer();
	DcmXfer x(xfer);
	Sint32 nf = 1;
	size_t total;

	if (ds->tagExists(DCM_NumberOfFrames) && ds->findAndGetSint32(DCM_NumberOfFrames, nf).bad()) {
		snprintf(err, errlen, "NumberOfFrames is malformed");
		return -1;
	}
	if (nf < 1) {
		snprintf(err, errlen, "NumberOfFrames %d", (int)nf);
		return -1;
	}
	f->frames = (int)nf;
	if (dicom_pixels_check(&f->px, err, errlen) < 0)
		return -1;
	f->frame_bytes = dicom_frame_bytes(&f->px);
	if ((size_t)nf > limit_bytes / f->frame_bytes) {
		snprintf(err, errlen, "%d frames of %dx%d: more than the %zu MiB limit", (int)nf,
		    f->px.cols, f->px.rows, limit_bytes >> 20);
		return -1;
	}
	total = f->frame_bytes * (size_t)nf;
	if (x.isEncapsulated())
		return decode_encapsulated(f, ds, x, total, err, errlen);
	DcmElement *pe = nullptr;
	OFCondition c = ds->findAndGetElement(DCM_PixelData, pe);
	if (c.bad() || pe == nullptr) {
		snprintf(err, errlen, "PixelData: %s", c.text());
		return -1;
	}
	// 16-bit values come in host order (little-endian on the machines
	// radpipe runs on), whatever the syntax's byte order was.
	Uint8 *bytes = nullptr;
	if (f->px.bits_allocated == 16) {
		Uint16 *words = nullptr;
		c = pe->getUint16Array(words);
		bytes = (Uint8 *)words;
	} else {
		c = pe->getUint8Array(bytes);
	}
	if (c.bad() || (bytes == nullptr && total > 0)) {
		snprintf(err, errlen, "PixelData: %s", c.bad() ? c.text() : "no value");
		return -1;
	}
	f->pixels = bytes;
	f->pixel_len = pe->getLength();
	if (f->pixel_len < total) {
		snprintf(err, errlen, "PixelData holds %zu bytes; %d frame(s) of %dx%dx%d at %d bits need %zu",
		    f->pixel_len, f->frames, f->px.cols, f->px.rows, f->px.samples, f->px.bits_allocated, total);
		return -1;
	}
	return 0;
}

// PatientID: raw for look-up, hashed under o->key, kept only when asked.
static void
patient_meta(DcmDataset *ds, const struct dicom_opts *o, struct dicom_meta *m)
{
	OFString id;
	static const char digits[] = "0123456789abcdef";
	uint8_t mac[32];

	if (ds->findAndGetOFString(DCM_PatientID, id).bad())
		return;
	size_t b = id.find_first_not_of(' '), e = id.find_last_not_of(' ');
	if (b == OFString_npos)
		return;
	id = id.substr(b, e - b + 1);
	m->has_patient_id = 1;
	get_str(ds, DCM_PatientID, m->patient_id_raw, sizeof m->patient_id_raw);
	if (o->keep_patient_id)
		memcpy(m->patient_id, m->patient_id_raw, sizeof m->patient_id);
	if (o->key == nullptr)
		return;
	sha256_hmac(o->key, o->keylen, id.c_str(), id.length(), mac);
	for (int i = 0; i < 32; i++) {
		m->patient_key[2 * i] = digits[mac[i] >> 4];
		m->patient_key[2 * i + 1] = digits[mac[i] & 15];
	}
	m->patient_key[64] = '\0';
}

static void
fill_meta(struct dicom_file *f, DcmDataset *ds, const struct dicom_opts *o, struct dicom_meta *m)
{
	Float64 v0, v1;

	get_str(ds, DCM_Modality, m->modality, sizeof m->modality);
	get_str(ds, DCM_BodyPartExamined, m->body_part, sizeof m->body_part);
	get_str(ds, DCM_ViewPosition, m->view_position, sizeof m->view_position);
	get_str(ds, DCM_StudyInstanceUID, m->study_uid, sizeof m->study_uid);
	get_str(ds, DCM_SeriesInstanceUID, m->series_uid, sizeof m->series_uid);
	get_str(ds, DCM_SOPInstanceUID, m->sop_uid, sizeof m->sop_uid);
	if (ds->findAndGetFloat64(DCM_PixelSpacing, v0, 0).good() &&
	    ds->findAndGetFloat64(DCM_PixelSpacing, v1, 1).good()) {
		m->spacing[0] = v0;
		m->spacing[1] = v1;
		m->has_spacing = 1;
	}
	patient_meta(ds, o, m);
	m->frames = f->frames;
	m->rows = f->px.rows;
	m->cols = f->px.cols;
	m->samples = f->px.samples;
	m->bits_allocated = f->px.bits_allocated;
	m->bits_stored = f->px.bits_stored;
}

// A pre-scan of the element headers, before DCMTK sees the bytes: DCMTK
// allocates an element's declared length (up to 4 GiB) before it finds the
// data missing, so a 1 kB file could ask for gigabytes.  Walks little-endian
// encodings (the meta group, explicit and implicit VR datasets) linearly,
// going into sequences and items, and fails when a value claims more bytes
// than are left.  Big-endian and deflated datasets, and encodings it does
// not follow (undefined-length UN), are left to DCMTK.
static int
long_vr(const uint8_t *v)
{
	static const char *const vrs[] = { "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV",
	    "UC", "UN", "UR", "UT", "UV", nullptr };
	for (int i = 0; vrs[i]; i++)
		if (v[0] == vrs[i][0] && v[1] == vrs[i][1])
			return 1;
	return 0;
}

// Whether the first elements of b (at most 6) read sensibly as a dataset
// in this encoding: the first in group 0008, tags ascending, explicit VRs
// made of capitals, every length within the buffer.
static int
raw_walk_ok(const uint8_t *b, size_t len, int big, int explicit_vr)
{
	size_t at = 0;
	uint32_t prev = 0;

	for (int k = 0; k < 6 && at + 8 <= len; k++) {
		uint32_t tag = (uint32_t)rd16(b + at, big) << 16 | rd16(b + at + 2, big), n;
		size_t hdr = 8;
		if ((k == 0 && tag >> 16 != 0x0008) || (k > 0 && tag <= prev))
			return 0;
		prev = tag;
		if (!explicit_vr) {
			n = rd32(b + at + 4, big);
		} else if (!isupper(b[at + 4]) || !isupper(b[at + 5])) {
			return 0;
		} else if (long_vr(b + at + 4)) {
			if (at + 12 > len)
				return 0;
			n = rd32(b + at + 8, big);
			hdr = 12;
		} else {
			n = rd16(b + at + 6, big);
		}
		if (n == 0xffffffff)
			return 1;       // a sequence of undefined length: plausible so far
		if (n > len - at - hdr)
			return 0;
		at += hdr + n;
	}
	return at > 0;
}

// The transfer syntax of a dataset stored without preamble and meta
// header, when exactly one of implicit LE, explicit LE and explicit BE
// reads it; else EXS_Unknown.
static E_TransferSyntax
raw_dataset_xfer(const uint8_t *b, size_t len)
{
	static const struct { int big, explicit_vr; E_TransferSyntax x; } enc[] = {
		{ 0, 0, EXS_LittleEndianImplicit }, { 0, 1, EXS_LittleEndianExplicit },
		{ 1, 1, EXS_BigEndianExplicit },
	};
	E_TransferSyntax found = EXS_Unknown;
	int hits = 0;

	if (len < 8)
		return EXS_Unknown;
	for (const auto &e : enc)
		if (raw_walk_ok(b, len, e.big, e.explicit_vr)) {
			found = e.x;
			hits++;
		}
	return hits == 1 ? found : EXS_Unknown;
}

extern "C" int
dicom_sniff_dataset(const uint8_t *buf, size_t len)
{
	return !dicom_sniff(buf, len) && raw_dataset_xfer(buf, len) != EXS_Unknown;
}

// How prescan reads the dataset that starts at d (8 bytes there) under
// transfer syntax ts: 1 explicit VR, 0 implicit, -2 not at all (big
// endian, deflated), -1 with a reason when a compressed syntax's dataset
// is in implicit VR.  An uncompressed dataset is read as it is encoded
// (DCMTK detects it too: dcmAutoDetectDatasetXfer).
static int
dataset_vr(const char *ts, const uint8_t *d, char *err, size_t errlen)
{
	int looks_explicit = isupper(d[4]) && isupper(d[5]);
	int implicit_ts = strcmp(ts, "1.2.840.10008.1.2") == 0;

	if (strcmp(ts, "1.2.840.10008.1.2.2") == 0 || strcmp(ts, "1.2.840.10008.1.2.1.99") == 0)
		return -2;
	if (!implicit_ts && !looks_explicit && ts[0] != '\0' && strcmp(ts, "1.2.840.10008.1.2.1") != 0) {
		snprintf(err, errlen, "corrupt DICOM file: the dataset is in implicit VR, "
		    "not in its transfer syntax %s", ts);
		return -1;
	}
	return !implicit_ts && looks_explicit;
}

static int
prescan(const uint8_t *b, size_t len, char *err, size_t errlen)
{
	size_t at = dicom_sniff(b, len) ? (memcmp(b, "DICM", 4) == 0 ? 4 : 132) : 0;
	int explicit_vr = 1, fragments = 0, meta = 1;
	char ts[72] = "";

	while (at + 8 <= len) {
		unsigned g = b[at] | b[at + 1] << 8, e = b[at + 2] | b[at + 3] << 8;
		uint32_t n;
		size_t hdr = 8;
		int sq = 0;
		if (meta && g != 2) {           // end of the meta group: the dataset's syntax
			meta = 0;
			if ((explicit_vr = dataset_vr(ts, b + at, err, errlen)) < 0)
				return explicit_vr == -2 ? 0 : -1;
		}
		if (g == 0xfffe) {
			n = b[at + 4] | b[at + 5] << 8 | b[at + 6] << 16 | (uint32_t)b[at + 7] << 24;
			if (e == 0xe0dd)
				fragments = 0;
			if (e != 0xe000 || !fragments || n == 0xffffffff)
				n = 0;          // items of a sequence: go inside
		} else if (explicit_vr || meta) {
			const uint8_t *vr = b + at + 4;
			if (long_vr(vr)) {
				if (at + 12 > len)
					break;
				n = b[at + 8] | b[at + 9] << 8 | b[at + 10] << 16 | (uint32_t)b[at + 11] << 24;
				hdr = 12;
			} else {
				n = b[at + 6] | b[at + 7] << 8;
			}
			sq = vr[0] == 'S' && vr[1] == 'Q';
			if (n == 0xffffffff && !sq && !(g == 0x7fe0 && e == 0x0010))
				return 0;       // undefined-length UN and the like: DCMTK's business
		} else {
			n = b[at + 4] | b[at + 5] << 8 | b[at + 6] << 16 | (uint32_t)b[at + 7] << 24;
			sq = n == 0xffffffff || DcmTag(DcmTagKey((Uint16)g, (Uint16)e)).getEVR() == EVR_SQ;
		}
		if (g == 0x7fe0 && e == 0x0010 && n == 0xffffffff)
			fragments = 1;
		at += hdr;
		if (sq || n == 0xffffffff)
			continue;
		if (n > len - at) {
			snprintf(err, errlen, "truncated or corrupt DICOM file: element (%04x,%04x) claims %lu bytes, %zu are left",
			    g, e, (unsigned long)n, len - at);
			return -1;
		}
		if (meta && g == 2 && e == 0x0010)
			snprintf(ts, sizeof ts, "%.*s", (int)(n < 64 ? n : 64), (const char *)b + at);
		for (size_t k = strlen(ts); k > 0 && (ts[k - 1] == ' ' || ts[k - 1] == '\0'); k--)
			ts[k - 1] = '\0';
		at += n;
	}
	return 0;
}

// Parses buf into f->ff.  Returns 0, DICOM_SKIP or -1.
static int
parse(struct dicom_file *f, const uint8_t *buf, size_t len, struct dicom_meta *m, char *err, size_t errlen)
{
	DcmInputBufferStream is;
	DcmDataset *ds;

	E_TransferSyntax raw = dicom_sniff(buf, len) ? EXS_Unknown : raw_dataset_xfer(buf, len);

	if (!dicom_sniff(buf, len) && raw == EXS_Unknown) {
		snprintf(err, errlen, "no DICOM preamble and meta header, and the dataset's encoding is not clear");
		return -1;
	}
	if (raw != EXS_BigEndianExplicit && prescan(buf, len, err, errlen) < 0)
		return -1;
	is.setBuffer(buf, (offile_off_t)len);
	is.setEos();
	f->ff.transferInit();
	OFCondition c = f->ff.read(is, raw, EGL_noChange, 0xfffffffe);
	f->ff.transferEnd();
	if (c == EC_StreamNotifyClient) {
		snprintf(err, errlen, "truncated DICOM file");
		return -1;
	}
	if (c.bad()) {
		snprintf(err, errlen, "not a readable DICOM file: %s", c.text());
		return -1;
	}
	ds = f->ff.getDataset();
	get_str(f->ff.getMetaInfo(), DCM_MediaStorageSOPClassUID, m->sop_class_uid, sizeof m->sop_class_uid);
	if (m->sop_class_uid[0] == '\0')
		get_str(ds, DCM_SOPClassUID, m->sop_class_uid, sizeof m->sop_class_uid);
	get_str(f->ff.getMetaInfo(), DCM_TransferSyntaxUID, m->transfer_syntax, sizeof m->transfer_syntax);
	if (m->transfer_syntax[0] == '\0')
		snprintf(m->transfer_syntax, sizeof m->transfer_syntax, "%s", DcmXfer(ds->getOriginalXfer()).getXferID());
	get_str(ds, DCM_PhotometricInterpretation, m->photometric, sizeof m->photometric);
	if (strcmp(m->sop_class_uid, UID_MediaStorageDirectoryStorage) == 0) {
		snprintf(err, errlen, "a DICOMDIR (media directory), not an image: skipped");
		return DICOM_SKIP;
	}
	if (!ds->tagExists(DCM_PixelData)) {
		const char *name = dcmFindNameOfUID(m->sop_class_uid, nullptr);
		snprintf(err, errlen, "no pixel data (%s): not an image, skipped",
		    name ? name : m->sop_class_uid[0] ? m->sop_class_uid : "unknown SOP class");
		return DICOM_SKIP;
	}
	return 0;
}

static int
open_impl(const uint8_t *buf, size_t len, const struct dicom_opts *o, struct dicom_file *f,
    struct dicom_meta *m, char *err, size_t errlen)
{
	int rc = parse(f, buf, len, m, err, errlen);
	DcmDataset *ds = f->ff.getDataset();

	if (rc != 0)
		return rc;
	if (m->transfer_syntax[0] && DcmXfer(m->transfer_syntax).getXfer() == EXS_Unknown) {
		snprintf(err, errlen, "transfer syntax %s is not supported (unknown to DCMTK %s)",
		    m->transfer_syntax, OFFIS_DCMTK_VERSION_STRING);
		return -1;
	}
	E_TransferSyntax x = ds->getOriginalXfer();
	enum pixel_source src = is_j2k(x) ? SRC_J2K : DcmXfer(x).isEncapsulated() ? SRC_DCMTK : SRC_NATIVE;

	if (read_pixel_attrs(f, ds, src, err, errlen) < 0)
		return -1;
	uint64_t npix = (uint64_t)f->px.rows * (uint64_t)f->px.cols;
	if (o->max_pixels > 0 && npix > o->max_pixels) {
		snprintf(err, errlen, "%dx%d image: %llu pixels, more than the limit of %llu (--max-pixels)", f->px.cols,
		    f->px.rows, (unsigned long long)npix, (unsigned long long)o->max_pixels);
		return -1;
	}
	if (decode_pixels(f, ds, err, errlen) < 0)
		return -1;
	fill_meta(f, ds, o, m);
	return 0;
}

extern "C" int
dicom_open(const uint8_t *buf, size_t len, const struct dicom_opts *o,
    struct dicom_file **fP, struct dicom_meta *meta, char *err, size_t errlen)
{
	struct dicom_file *f = nullptr;
	int rc;

	*fP = nullptr;
	memset(meta, 0, sizeof *meta);
	in_dcmtk lib;
	try {
		init_once();
		f = new dicom_file;
		rc = open_impl(buf, len, o, f, meta, err, errlen);
	} catch (const std::bad_alloc &) {
		snprintf(err, errlen, "out of memory reading the DICOM file");
		rc = -1;
	} catch (...) {
		snprintf(err, errlen, "DICOM file could not be read (internal error)");
		rc = -1;
	}
	if (rc != 0) {
		delete f;
		return rc;
	}
	*fP = f;
	return 0;
}

extern "C" int
dicom_frame(struct dicom_file *f, int frame, const struct dicom_opts *o,
    struct tensor *t, struct dicom_meta *meta, char *err, size_t errlen)
{
	if (frame < 0 || frame >= f->frames) {
		snprintf(err, errlen, "frame %d out of 1..%d", frame + 1, f->frames);
		return -1;
	}
	return dicom_render(&f->px, f->pixels + (size_t)frame * f->frame_bytes, f->frame_bytes,
	    o, t, meta->voi, sizeof meta->voi, err, errlen);
}

extern "C" void
dicom_close(struct dicom_file *f)
{
	in_dcmtk lib;
	try {
		delete f;
	} catch (...) {
	}
}
