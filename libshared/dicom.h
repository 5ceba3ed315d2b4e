/* dicom.h — DICOM files (parsed and decompressed by DCMTK, in dicom.cc)
 * rendered to pixels (dicom_render.c) in the order of the DICOM grayscale
 * pipeline: stored values -> modality LUT (rescale slope/intercept or a
 * Modality LUT Sequence) -> VOI (window or VOI LUT) -> MONOCHROME1 inverted.
 *
 * Ownership: dicom_open returns a struct dicom_file that owns the parsed
 * file and its decompressed pixels; dicom_close releases it.  The caller's
 * buffer is not needed after dicom_open.  No C++ exception leaves these
 * functions.
 */
#ifndef RADPIPE_DICOM_H
#define RADPIPE_DICOM_H

#include <stddef.h>
#include <stdint.h>
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* dicom_open's result for files that hold no image (DICOMDIR, reports...). */
#define DICOM_SKIP (-2)

enum dicom_voi_mode {
	DICOM_VOI_FILE,         /* the file's first window, else its first VOI LUT, else RANGE */
	DICOM_VOI_WINDOW,       /* center/width given by the user (LINEAR function) */
	DICOM_VOI_RANGE,        /* the full range of the stored values after the modality LUT */
	DICOM_VOI_MINMAX,       /* the smallest to the largest value of the frame */
};

enum dicom_voi_func { DICOM_FUNC_LINEAR, DICOM_FUNC_LINEAR_EXACT, DICOM_FUNC_SIGMOID };

struct dicom_opts {
	enum dicom_voi_mode voi;
	double center, width;           /* DICOM_VOI_WINDOW */
	int keep16;                     /* 16-bit output when stored data has > 8 bits */
	const uint8_t *key;             /* secret for the patient key, or NULL: none */
	size_t keylen;
	int keep_patient_id;            /* copy PatientID itself into the meta */
	uint64_t max_pixels;            /* Rows x Columns above this: refused before
	                                 * decompression; 0: no limit */
};

#define DICOM_STR 68

/* What radpipe keeps of a file's attributes (printable ASCII, truncated). */
struct dicom_meta {
	char modality[DICOM_STR], body_part[DICOM_STR], view_position[DICOM_STR];
	char photometric[DICOM_STR];    /* as stored, before decompression */
	char study_uid[DICOM_STR], series_uid[DICOM_STR], sop_uid[DICOM_STR];
	char sop_class_uid[DICOM_STR];
	char transfer_syntax[DICOM_STR];        /* UID */
	char patient_key[65];           /* hex HMAC-SHA256(key, PatientID), or "" */
	char patient_id[DICOM_STR];     /* raw PatientID, only with keep_patient_id */
	char patient_id_raw[DICOM_STR]; /* raw PatientID for label look-up: never written out */
	int has_patient_id;
	double spacing[2];              /* PixelSpacing: row, column (mm) */
	int has_spacing;
	int frames, rows, cols, samples;
	int bits_allocated, bits_stored;
	char voi[128];                  /* the VOI applied to the last frame rendered */
};

/* A LUT (Modality or VOI LUT Sequence item); n == 0: none. */
struct dicom_lut {
	int n;                          /* entries */
	int first;                      /* first stored/modality value mapped */
	int bits;                       /* bits per entry (8..16) */
	const uint16_t *data;           /* n entries */
};

/* How a frame's bytes are laid out and turned into values. */
struct dicom_pixels {
	int rows, cols, samples, planar;
	int bits_allocated, bits_stored, high_bit, pixel_rep;
	int monochrome1;                /* 1: MONOCHROME1 (0 is white) */
	int ybr_full;                   /* 1: YBR_FULL, converted to RGB */
	int ybr422;                     /* 1: (with ybr_full) native YBR_FULL_422: Y1 Y2 Cb Cr
	                                 * for each two pixels (8 bits) */
	double slope, intercept;        /* Rescale Slope/Intercept (1, 0 if absent) */
	struct dicom_lut modality_lut;  /* used instead of slope/intercept when n > 0 */
	int has_window;
	double center, width;           /* the file's first window */
	enum dicom_voi_func func;       /* VOI LUT Function of the file */
	struct dicom_lut voi_lut;       /* the file's first VOI LUT */
};

struct dicom_file;

/* 1 if buf starts like a DICOM file: "DICM" after a 128-byte preamble, or
 * at offset 0. */
int dicom_sniff(const uint8_t *buf, size_t len);
/* 1 if buf is a DICOM dataset without preamble and meta header whose
 * encoding (implicit LE, explicit LE or explicit BE) is unambiguous: its
 * first elements, group 0008 first, read sensibly in exactly one. */
int dicom_sniff_dataset(const uint8_t *buf, size_t len);
/* Largest decoded pixel data accepted, in bytes (all frames); default 2 GiB. */
void dicom_set_limit(size_t bytes);
/* 1 (the default): compressed pixel data is decoded in a child process
 * under a time limit (guard.h); 0: in this process, without a limit
 * (for the fuzzer, which must see hangs and coverage). */
void dicom_set_isolation(int on);
/* Parses and decompresses a DICOM file held in memory; fills meta (frames,
 * attributes, patient key under o's key).  Returns 0, DICOM_SKIP when the
 * file is not an image (with the reason in err), or -1 with a reason. */
int dicom_open(const uint8_t *buf, size_t len, const struct dicom_opts *o,
               struct dicom_file **fP, struct dicom_meta *meta, char *err, size_t errlen);
/* Renders frame (0-based) of f into t (owned HWC u8, or u16); records the
 * VOI applied in meta->voi.  Returns 0 or -1 with a reason in err. */
int dicom_frame(struct dicom_file *f, int frame, const struct dicom_opts *o,
                struct tensor *t, struct dicom_meta *meta, char *err, size_t errlen);
/* Releases f (NULL is fine). */
void dicom_close(struct dicom_file *f);

/* Renders one frame of px from its bytes (len >= the frame's size; 16-bit
 * samples little-endian) into t; describes the VOI used in voi.  Returns 0
 * or -1 with a reason.  Pure C: the pipeline's formulas live here. */
int dicom_render(const struct dicom_pixels *px, const uint8_t *frame, size_t len,
                 const struct dicom_opts *o, struct tensor *t, char *voi, size_t voilen,
                 char *err, size_t errlen);
/* Decodes one JPEG 2000 frame (a J2K codestream or a JP2 file, len bytes)
 * of px's size into out (rows*cols*samples samples, interleaved, 16 bits
 * little-endian when BitsAllocated is 16).  Returns 0 or -1 with a reason. */
int dicom_j2k_decode(const uint8_t *cs, size_t len, const struct dicom_pixels *px,
                     uint8_t *out, char *err, size_t errlen);
/* Bytes of one frame of px as stored natively (YBR_FULL_422: 2 a pixel). */
size_t dicom_frame_bytes(const struct dicom_pixels *px);
/* Checks px's geometry and bit layout; returns 0 or -1 with a reason. */
int dicom_pixels_check(const struct dicom_pixels *px, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
