"""Classical nucleus segmentation baseline (numpy + scipy.ndimage only):
colour deconvolution (Ruifrok & Johnston H&E) -> haematoxylin optical density -> Gaussian smoothing -> Otsu
threshold -> opening + hole filling -> Euclidean distance transform -> local maxima (min distance ~ a small
nucleus radius) as markers -> marker watershed (scipy.ndimage.watershed_ift) on the inverted distance, inside
the foreground -> objects smaller than min_area removed.

Parameters are in µm so that the same call works at any µm/px."""
import numpy as np
from scipy import ndimage as ndi

from data import rgb_to_hed


def otsu(values, bins=256):
    hist, edges = np.histogram(values, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centres)
    mu0 = m0 / np.maximum(w0, 1)
    mu1 = (m0[-1] - m0) / np.maximum(w1, 1)
    between = w0 * w1 * (mu0 - mu1) ** 2
    return centres[int(np.argmax(between[:-1]))]


def segment(img, mpp, sigma_um=0.5, min_area_um2=10.0, peak_distance_um=2.5, open_um=1.0):
    h = rgb_to_hed(img)[:, 0].reshape(img.shape[:2])
    h = ndi.gaussian_filter(h, sigma_um / mpp)
    fg = h > otsu(h)
    r = max(1, int(round(open_um / mpp)))
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    disk = xx ** 2 + yy ** 2 <= r * r
    fg = ndi.binary_opening(fg, structure=disk)
    fg = ndi.binary_fill_holes(fg)
    dist = ndi.distance_transform_edt(fg)
    dist_s = ndi.gaussian_filter(dist, 1.0)
    d = max(1, int(round(peak_distance_um / mpp)))
    peaks = (dist_s == ndi.maximum_filter(dist_s, size=2 * d + 1)) & fg & (dist > 1)
    markers, n = ndi.label(peaks)
    markers = markers.astype(np.int32)
    # watershed_ift floods from the markers along minimax-cost paths (uint8 cost, 0 = distance maximum);
    # background gets the highest cost so basins do not leak around each other, and is zeroed afterwards.
    cost = (dist_s.max() - dist_s)
    cost = np.round(cost / max(cost.max(), 1e-6) * 254).astype(np.uint8)
    cost[~fg] = 255
    lab = ndi.watershed_ift(cost, markers).astype(np.int32)
    lab[~fg] = 0
    areas = np.bincount(lab.ravel())
    small = areas < min_area_um2 / (mpp * mpp)
    small[0] = False
    lab[small[lab]] = 0
    return lab
