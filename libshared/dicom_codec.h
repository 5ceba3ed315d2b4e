// dicom_codec.h — compressed DICOM pixel data, decoded in a child process
// under a time limit (guard.h): DCMTK's JPEG, JPEG-LS and RLE codecs,
// OpenJPEG for JPEG 2000 (dicom_j2k.c).  Internal to dicom.cc (C++).
#ifndef RADPIPE_DICOM_CODEC_H
#define RADPIPE_DICOM_CODEC_H

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include "dicom.h"

// 1 for the JPEG 2000 syntaxes that OpenJPEG decodes (.90, .91).
static inline int
is_j2k(E_TransferSyntax x)
{
	return x == EXS_JPEG2000LosslessOnly || x == EXS_JPEG2000;
}

// Decodes the encapsulated pixel data of ds (frames frames of px, total
// bytes when decoded) in a guarded child.  Returns 0 with the pixels of all
// frames in *bufP (malloc'd, the caller frees; 16-bit samples in host
// order, interleaved for JPEG 2000) and their size in *lenP, and ds's
// Photometric Interpretation, Planar Configuration and bit layout set as
// DCMTK's decoder left them; or -1 with a reason (a decoder that ran too
// long or crashed included).
int codec_decode(DcmDataset *ds, const struct dicom_pixels *px, int frames, size_t total,
                 uint8_t **bufP, size_t *lenP, char *err, size_t errlen);

#endif
