"""Files on objects: names (``names``), content types (``types``), where the bytes live
(``storage``) and the :class:`~openconnector.files.service.FileService` over them."""
