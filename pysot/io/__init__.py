"""Input and output of frames: video files, image folders, cameras, annotated video (:mod:`pysot.io.video`)."""
