import cv2
import numpy as np
import pytest

from focalxl.image_files import decode_grey, decode_image, read_image


def _png(array: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", array)
    assert ok
    return data.tobytes()


def test_colour_png_decodes_to_rgb_order():
    bgr = np.zeros((4, 5, 3), np.uint8)
    bgr[..., 2] = 200  # red in OpenCV's BGR order
    rgb = decode_image(_png(bgr))
    assert rgb.shape == (4, 5, 3) and rgb.dtype == np.uint8
    assert (rgb[..., 0] == 200).all() and (rgb[..., 2] == 0).all()


def test_grey_rgba_and_16_bit_files_become_rgb_uint8():
    grey = np.full((3, 3), 77, np.uint8)
    assert (decode_image(_png(grey)) == 77).all()
    rgba = np.dstack([np.full((3, 3, 3), 10, np.uint8), np.zeros((3, 3), np.uint8)])
    assert decode_image(_png(rgba)).shape == (3, 3, 3)
    deep = np.full((3, 3), 0xABCD, np.uint16)
    assert (decode_image(_png(deep)) == 0xAB).all()


def test_grey_decoding_takes_the_brightest_channel():
    bgr = np.zeros((2, 2, 3), np.uint8)
    bgr[0, 0, 1] = 255
    grey = decode_grey(_png(bgr))
    assert grey.shape == (2, 2) and grey[0, 0] == 255 and grey[1, 1] == 0


@pytest.mark.parametrize("data", [b"", b"not an image", b"\x89PNG\r\n\x1a\n broken"])
def test_undecodable_bytes_raise_value_error_naming_the_field(data):
    with pytest.raises(ValueError, match="upload: not an image file"):
        decode_image(data, "upload")


def test_missing_file_raises_value_error_naming_the_path(tmp_path):
    with pytest.raises(ValueError, match="cannot read image .*nope.png"):
        read_image(tmp_path / "nope.png")


def test_an_image_over_the_pixel_limit_is_refused_from_its_header_before_decoding(monkeypatch):
    import focalxl.image_files as image_files

    data = cv2.imencode(".png", np.zeros((40, 48, 3), np.uint8))[1].tobytes()
    monkeypatch.setattr(image_files, "_decode", lambda *_: pytest.fail("decoded an image over the limit"))
    with pytest.raises(image_files.ImageTooLarge, match=r"frame has 1920 pixels \(48x40\), over the limit of 1919"):
        image_files.decode_image(data, "frame", max_pixels=1919)


def test_an_image_within_the_pixel_limit_decodes():
    from focalxl.image_files import decode_image

    data = cv2.imencode(".png", np.zeros((40, 48, 3), np.uint8))[1].tobytes()
    assert decode_image(data, "frame", max_pixels=1920).shape == (40, 48, 3)


def test_a_header_pillow_cannot_read_is_checked_after_decoding(monkeypatch):
    import focalxl.image_files as image_files

    data = cv2.imencode(".png", np.zeros((40, 48, 3), np.uint8))[1].tobytes()
    monkeypatch.setattr(image_files, "read_header", lambda _: None)
    with pytest.raises(image_files.ImageTooLarge, match="48x40"):
        image_files.decode_image(data, "frame", max_pixels=100)
