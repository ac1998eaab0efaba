"""Plain-Python transfer code of call_recording_ftp (no ORM).

Transports (FTP, FTPS, SFTP) behind one interface, the path template, the
verified upload and the manifests.  The models call these; pytest loads
this package alone (as ``call_recording_ftp_lib``) to prove it needs no Odoo.
"""
