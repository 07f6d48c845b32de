"""Reading where every frame was taken and where it looked: photos (EXIF/XMP) and DJI video (SRT)."""
