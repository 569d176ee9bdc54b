module acrgate/rendertask

go 1.26
